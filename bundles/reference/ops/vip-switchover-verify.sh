#!/bin/bash
# onsite switchover FILE vip:NAME, last part: the target holds the VIP and no
# other member does (without --to: the former holder gave it up; if no other
# member took it over, its priority goes back and the step fails).
set -euo pipefail
. lib/onsite.sh
. lib/vip.sh
vip_member "$ONSITE_NODE" || exit 0
to=$ONSITE_OP_TO
if [ -n "$to" ]; then
    if [ "$ONSITE_NODE" = "$to" ]; then
        wait_for 30 "$ONSITE_NODE holding $VIP_NAME ($VIP_ADDRESS)" vip_holds
        echo "$ONSITE_NODE holds $VIP_NAME ($VIP_ADDRESS)"
    else
        wait_for 30 "$ONSITE_NODE giving $VIP_NAME up" vip_lost
    fi
elif [ -f "$VIP_MARK" ]; then
    for _ in $(seq 30); do vip_lost && break; sleep 1; done
    if vip_holds; then
        vip_set_priority "$VIP_PLAN_PRIORITY" || true
        rm -f "$VIP_MARK"
        die "no other member of $VIP_NAME took it over within 30 s (their check fails or keepalived is down there): $ONSITE_NODE keeps it"
    fi
    rm -f "$VIP_MARK"
    echo "$ONSITE_NODE gave $VIP_NAME up to another member"
fi
