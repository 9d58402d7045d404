#!/bin/bash
# Sentinel sees the primary, every replica and the other sentinels, with quorum.
set -euo pipefail
. lib/onsite.sh
export REDISCLI_AUTH=$ONSITE_SECRET_REDIS_PASSWORD  # the environment, never argv
replicas=$(($(count_of "$(role_nodes redis)") - 1))
sentinels=$(count_of "$(role_nodes sentinel)")
name=$ONSITE_SETTING_SENTINEL_MASTER_NAME
ask() { redis-cli --no-auth-warning -h 127.0.0.1 -p "$ONSITE_PORT_SENTINEL_SENTINEL" "$@"; }
ready() {
    ask sentinel ckquorum "$name" | grep -q '^OK' &&
    ask info sentinel | grep -q "name=$name,status=ok,.*,slaves=$replicas,sentinels=$sentinels"
}
ready
