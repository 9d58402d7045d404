#!/bin/bash
# node replace, through a survivor: Sentinel has quorum without the node,
# and the Redis primary is elsewhere (else the node may hold the only data).
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
read -r addr _port <<< "$(sentinel_at 127.0.0.1 sentinel get-master-addr-by-name "$name" | tr '\n' ' ')"
if [ "$addr" = "$(node_address "$ONSITE_OP_NODE")" ]; then
    die "Sentinel still names $ONSITE_OP_NODE the Redis primary (no failover yet): wait for it (down-after $ONSITE_SETTING_SENTINEL_DOWN_AFTER_MS ms), then run node replace again"
fi
echo "Redis: the primary is $addr"
