#!/bin/bash
# /etc/onsite/vip-facts.conf for onsite-vip-facts: how often to write, and
# each VIP this node is a member of with its metric labels. Empty on a node
# that is no VIP's member (no writer runs there).
set -euo pipefail
. lib/onsite.sh
. lib/monitoring.sh
site=$(one_line site.name "$ONSITE_SITE")
lines=() i=-1
for vip in $ONSITE_VIPS; do
    i=$((i + 1))
    p="ONSITE_VIP_$(upper "$vip")"
    prio="${p}_PRIORITY" addr="${p}_ADDRESS"
    [ "${!prio}" != 0 ] || continue
    vip=$(word "vips[$i].name" "$vip")
    escape=false
    if has_role escape; then escape=true; fi
    lines+=("vip ${!addr} vip=\"$vip\",address=\"${!addr}\",escape=\"$escape\"")
done
[ "${#lines[@]}" -gt 0 ] || exit 0
echo "# Written by onsite for site $site; changes here are overwritten."
echo "interval $SCRAPE"
printf '%s\n' "${lines[@]}"
