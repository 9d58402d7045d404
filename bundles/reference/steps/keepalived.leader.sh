#!/bin/bash
# Exit 0 when this node holds one of its VIPs now: while a changed plan is
# applied node by node, it goes last (the others first, so a VIP moves at most once).
set -euo pipefail
. lib/onsite.sh
held=$(ip -o -4 addr show)
for vip in $ONSITE_VIPS; do
    p="ONSITE_VIP_$(upper "$vip")"
    prio="${p}_PRIORITY" addr="${p}_ADDRESS"
    [ "${!prio}" != 0 ] || continue
    if grep -q " ${!addr}/" <<< "$held"; then exit 0; fi
done
exit 1
