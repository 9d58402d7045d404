#!/bin/bash
# Redis Sentinel for this node, watching the first redis node as primary.
set -euo pipefail
. lib/onsite.sh
primary=$(first_of "$(role_nodes redis)")
quorum=$(($(count_of "$(role_nodes sentinel)") / 2 + 1))
name=$ONSITE_SETTING_SENTINEL_MASTER_NAME
pw=$(redis_str "$ONSITE_SECRET_REDIS_PASSWORD")
cat <<CONF
# Written by onsite for site $ONSITE_SITE. Sentinel keeps its state in this
# file; onsite writes it again only when the plan changes.
bind $ONSITE_NODE_ADDRESS 127.0.0.1
port $ONSITE_PORT_SENTINEL_SENTINEL
daemonize no
pidfile /run/sentinel/redis-sentinel.pid
logfile ""
dir /var/lib/redis
requirepass $pw
sentinel sentinel-pass $pw
sentinel resolve-hostnames no
sentinel monitor $name $(node_address "$primary") $ONSITE_PORT_REDIS_REDIS $quorum
sentinel auth-pass $name $pw
sentinel down-after-milliseconds $name $ONSITE_SETTING_SENTINEL_DOWN_AFTER_MS
sentinel failover-timeout $name $ONSITE_SETTING_SENTINEL_FAILOVER_TIMEOUT_MS
sentinel parallel-syncs $name 1
CONF
