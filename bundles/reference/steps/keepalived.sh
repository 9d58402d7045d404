#!/bin/bash
# Keepalived with the VIPs this node is a member of and their checks.
set -euo pipefail
. lib/onsite.sh
conf=$(bash render/keepalived.sh)
health=$(bash render/keepalived-health.sh)
changed=0
put_file /etc/keepalived/onsite-check-haproxy.sh 0700 root:root < files/onsite-check-haproxy.sh && changed=1
put_file /etc/keepalived/onsite-check-service-health.sh 0700 root:root < files/onsite-check-service-health.sh && changed=1
# The check script reads this file each time it runs: a new secret or port
# applies without restarting keepalived.
put_file /etc/keepalived/onsite-health.env 0600 root:root <<< "$health" || true
put_file /etc/keepalived/keepalived.conf 0644 root:root <<< "$conf" && changed=1
keepalived -t -f /etc/keepalived/keepalived.conf || die "keepalived rejects /etc/keepalived/keepalived.conf"
# A changed file is re-read in place (SIGHUP): keepalived keeps its VRRP
# state, so the holder keeps its VIPs unless the new priorities say otherwise.
if [ "$changed" = 1 ]; then svc_reload keepalived; else svc_start keepalived; fi
