# shellcheck shell=bash
# The VIP a switchover moves (ONSITE_OP_WHAT vip:NAME) and this node's part in it.
#
# The move is a temporary priority change in the running keepalived.conf:
# the target's priority goes to 254 (above any the plan gives), or without
# --to the holder's to 1 (VRRP then elects the best other member whose check
# passes); keepalived re-reads its file on SIGHUP and keeps its VRRP state.
# It lasts until keepalived's file is written again: the next `onsite
# install` (a rerun or a changed plan) puts the plan's priorities back and
# with them the plan's preferred holder. To move a VIP for good, change its
# `priorities:` in the answer file and run onsite install.

VIP_NAME=${ONSITE_OP_WHAT#vip:}
[[ " $ONSITE_VIPS " == *" $VIP_NAME "* ]] || die "vip:$VIP_NAME: the plan has no such VIP (its VIPs: $ONSITE_VIPS)"
_vip_p="ONSITE_VIP_$(upper "$VIP_NAME")"
_v="${_vip_p}_ADDRESS"; VIP_ADDRESS=${!_v}
_v="${_vip_p}_MEMBERS"; VIP_MEMBERS=${!_v}
_v="${_vip_p}_PRIORITY"; VIP_PLAN_PRIORITY=${!_v}
_v="${_vip_p}_CHECK"; VIP_CHECK=${!_v}
VIP_ID=$(printf '%s' "$VIP_NAME" | tr -c 'a-zA-Z0-9\n' '_')
VIP_CONF=/etc/keepalived/keepalived.conf
# shellcheck disable=SC2034  # used by the ops/vip-*.sh scripts
VIP_MARK=$STATE_DIR/vip-switchover-$VIP_ID.from

vip_member() { [[ " $VIP_MEMBERS " == *" $1 "* ]]; }
vip_holds() { ip -o -4 addr show | grep -q " $VIP_ADDRESS/"; }
vip_lost() { ! vip_holds; }

# This node's priority for the VIP in the running configuration.
vip_priority() {
    awk -v id="$VIP_ID" '$0 == "vrrp_instance " id " {" {inside = 1}
        inside && $1 == "priority" {print $2; exit} inside && /^}/ {inside = 0}' "$VIP_CONF"
}

# vip_set_priority N: write it into keepalived.conf and reload keepalived
# (exit 1: it was N already).
vip_set_priority() {
    local tmp
    tmp=$(mktemp "$VIP_CONF.onsite.XXXXXX")
    awk -v id="$VIP_ID" -v pr="$1" '$0 == "vrrp_instance " id " {" {inside = 1}
        inside && $1 == "priority" {sub(/priority [0-9]+/, "priority " pr)}
        inside && /^}/ {inside = 0}
        {print}' "$VIP_CONF" > "$tmp"
    if cmp -s "$tmp" "$VIP_CONF"; then rm -f "$tmp"; return 1; fi
    keepalived -t -f "$tmp" || { rm -f "$tmp"; die "keepalived rejects the changed priority"; }
    chmod 0644 "$tmp"
    mv -f "$tmp" "$VIP_CONF"
    svc_reload keepalived
    echo "$ONSITE_NODE: priority for $VIP_NAME $1 (the plan's: $VIP_PLAN_PRIORITY)"
}

# The VIP's check (the one keepalived tracks) passes here and keepalived runs.
vip_healthy() {
    svc_running keepalived || die "keepalived is not running on $ONSITE_NODE: it cannot take $VIP_NAME over"
    timeout 10 /etc/keepalived/onsite-check-"$VIP_CHECK".sh ||
        die "the check of $VIP_NAME ($VIP_CHECK) fails on $ONSITE_NODE: it cannot take the VIP over (fix the service there first)"
}
