#!/bin/bash
# onsite switchover FILE vip:NAME [--to NODE], first part (lib/vip.sh has
# how): with --to the target, healthy, raises its priority above all; without
# it the holder lowers its own and VRRP elects the best healthy other member.
set -euo pipefail
. lib/onsite.sh
. lib/vip.sh
vip_member "$ONSITE_NODE" || { echo "$ONSITE_NODE is not a member of $VIP_NAME: nothing to do"; exit 0; }
to=$ONSITE_OP_TO
[ -z "$to" ] || vip_member "$to" || die "--to $to is not a member of VIP $VIP_NAME (members: $VIP_MEMBERS)"
rm -f "$VIP_MARK"
if [ -n "$to" ]; then
    [ "$ONSITE_NODE" = "$to" ] || exit 0
    vip_healthy
    vip_set_priority 254 || echo "$ONSITE_NODE: priority for $VIP_NAME is 254 already"
elif vip_holds; then
    mkdir -p "$STATE_DIR"
    echo "$ONSITE_NODE" > "$VIP_MARK"
    vip_set_priority 1 || echo "$ONSITE_NODE: priority for $VIP_NAME is 1 already"
fi
