#!/bin/bash
# keepalived check for the service VIP: RADIUS accepts the probe user on this
# node, and every extra check in /etc/onsite/health.d (eportal, sso: the
# vendor's payload puts them there) passes.
set -u
# shellcheck source=/dev/null
. /etc/keepalived/onsite-health.env
f=/run/onsite-health.secret
( umask 077; printf '%s\n' "$RADIUS_SECRET" > "$f" )
printf 'User-Name = "onsite-probe"\nUser-Password = "%s"\n' "$PROBE_PASSWORD" |
    timeout 3 radclient -q -r 1 -t 1 -S "$f" "127.0.0.1:$RADIUS_PORT" auth > /dev/null 2>&1 || exit 1
for check in /etc/onsite/health.d/*.sh; do
    [ -e "$check" ] || continue
    timeout 3 bash "$check" > /dev/null 2>&1 || exit 1
done
exit 0
