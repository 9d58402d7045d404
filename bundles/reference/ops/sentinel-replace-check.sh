#!/bin/bash
# node replace, through a survivor: Sentinel has quorum without the node,
# and the Redis primary is elsewhere (else the node may hold the only
# data). A failover Sentinel is making on its own is waited for (down-after
# plus the failover timeout).
set -euo pipefail
. lib/onsite.sh
. lib/replace.sh
target_has_role sentinel || target_has_role redis || { echo "$ONSITE_OP_NODE holds no Redis or Sentinel: nothing to check"; exit 0; }
name=$ONSITE_SETTING_SENTINEL_MASTER_NAME
q=$(sentinel_at 127.0.0.1 sentinel ckquorum "$name" 2>&1) || true
case $q in
    OK*) echo "Sentinel: $q" ;;
    *) die "Sentinel has no quorum without $ONSITE_OP_NODE ($q): bring the other sentinels back first" ;;
esac
target=$(node_address "$ONSITE_OP_NODE")
wait_s=$((($(number components.sentinel.down_after_ms "$ONSITE_SETTING_SENTINEL_DOWN_AFTER_MS") + \
    $(number components.sentinel.failover_timeout_ms "$ONSITE_SETTING_SENTINEL_FAILOVER_TIMEOUT_MS")) / 1000 + 1))
addr=""
for ((i = 0; i <= wait_s; i++)); do
    read -r addr _port <<< "$(sentinel_at 127.0.0.1 sentinel get-master-addr-by-name "$name" | tr '\n' ' ')"
    if [ -n "$addr" ] && [ "$addr" != "$target" ]; then break; fi
    [ "$i" != 0 ] || echo "waiting for Sentinel to fail over from $ONSITE_OP_NODE (up to $wait_s s)"
    sleep 1
done
if [ "$addr" = "$target" ] || [ -z "$addr" ]; then
    die "Sentinel still names $ONSITE_OP_NODE the Redis primary after ${wait_s} s (no failover): it may hold the only data. Bring it back or fail over knowingly (SENTINEL FAILOVER), then run node replace again"
fi
echo "Redis: the primary is $addr"
