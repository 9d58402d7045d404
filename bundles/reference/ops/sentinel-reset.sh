#!/bin/bash
# node replace, after the new node's install: a Sentinel reset sweep, one
# sentinel at a time, each seeing the primary, the replicas and the other
# sentinels again before the next (the dead member's old entries go).
set -euo pipefail
. lib/onsite.sh
. lib/replace.sh
name=$ONSITE_SETTING_SENTINEL_MASTER_NAME
replicas=$(($(count_of "$(role_nodes redis)") - 1))
sentinels=$(count_of "$(role_nodes sentinel)")
sentinel_at 127.0.0.1 sentinel reset "$name" > /dev/null
ready() {
    sentinel_at 127.0.0.1 sentinel ckquorum "$name" | grep -q '^OK' &&
    sentinel_at 127.0.0.1 info sentinel | grep -q "name=$name,status=ok,.*,slaves=$replicas,sentinels=$sentinels"
}
wait_for 90 "Sentinel on $ONSITE_NODE after its reset: primary, $replicas replicas, $sentinels sentinels" ready
echo "Sentinel on $ONSITE_NODE reset: $(sentinel_at 127.0.0.1 info sentinel | grep '^master')"
