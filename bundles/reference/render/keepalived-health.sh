#!/bin/bash
# The values the service VIP's health check (files/onsite-check-service-health.sh)
# reads: sourced by bash, so each value is quoted for bash (printf %q).
set -euo pipefail
. lib/onsite.sh
printf 'RADIUS_SECRET=%q\nRADIUS_PORT=%q\nPROBE_PASSWORD=%q\n' \
    "$ONSITE_SECRET_RADIUS_SHARED_SECRET" "$ONSITE_PORT_RADIUS_AUTH" "$(probe_password)"
