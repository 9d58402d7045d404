#!/bin/bash
# node replace, after the new node's install: a Sentinel reset sweep, one
# sentinel at a time, each seeing the primary, the replicas and the other
# sentinels again before the next (the dead member's old entries go).
set -euo pipefail
. lib/onsite.sh
. lib/replace.sh
sentinel_at 127.0.0.1 sentinel reset "$ONSITE_SETTING_SENTINEL_MASTER_NAME" > /dev/null
wait_for 90 "Sentinel on $ONSITE_NODE after its reset: primary, $(sentinel_replicas) replicas, $(sentinel_count) sentinels" sentinel_ready
echo "Sentinel on $ONSITE_NODE reset: $(sentinel_at 127.0.0.1 info sentinel | grep '^master')"
