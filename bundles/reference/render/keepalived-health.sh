#!/bin/bash
# The values the service VIP's health check (files/onsite-check-service-health.sh)
# reads: sourced by bash, so each value is quoted for bash (printf %q).
set -euo pipefail
. lib/onsite.sh
# radclient reads the secret from the first line of a file
one_line secrets.radius_shared_secret "$ONSITE_SECRET_RADIUS_SHARED_SECRET" > /dev/null
radclient_secret secrets.radius_shared_secret "$ONSITE_SECRET_RADIUS_SHARED_SECRET" > /dev/null
printf 'RADIUS_SECRET=%q\nRADIUS_PORT=%q\nPROBE_PASSWORD=%q\n' \
    "$ONSITE_SECRET_RADIUS_SHARED_SECRET" "$ONSITE_PORT_RADIUS_AUTH" "$(probe_password)"
