#!/bin/bash
# HAProxy and the RADIUS/portal services listen on a VIP before Keepalived
# has moved it here: the kernel must allow binding to an address not held.
set -euo pipefail
# The value before onsite's first install, for `onsite uninstall`.
state=/var/lib/onsite/state
if [ ! -f "$state/nonlocal-bind.before" ]; then
    mkdir -p "$state" && chmod 0700 "$state"
    sysctl -n net.ipv4.ip_nonlocal_bind > "$state/nonlocal-bind.before"
fi
echo "net.ipv4.ip_nonlocal_bind = 1" > /etc/sysctl.d/60-onsite-vip.conf
sysctl -q -w net.ipv4.ip_nonlocal_bind=1
echo "net.ipv4.ip_nonlocal_bind = $(sysctl -n net.ipv4.ip_nonlocal_bind)"
