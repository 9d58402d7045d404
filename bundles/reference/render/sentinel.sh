#!/bin/bash
# Redis Sentinel for this node, watching the first redis node as primary.
set -euo pipefail
. lib/onsite.sh
primary=$(first_of "$(role_nodes redis)")
quorum=$(($(count_of "$(role_nodes sentinel)") / 2 + 1))
site=$(one_line site.name "$ONSITE_SITE")
# Sentinel writes the master name back into this file unquoted, and the
# ready step matches it in INFO output: a plain name only.
name=$(word components.sentinel.master_name "$ONSITE_SETTING_SENTINEL_MASTER_NAME")
down=$(number components.sentinel.down_after_ms "$ONSITE_SETTING_SENTINEL_DOWN_AFTER_MS")
failover=$(number components.sentinel.failover_timeout_ms "$ONSITE_SETTING_SENTINEL_FAILOVER_TIMEOUT_MS")
# Sentinel writes the password back into this file unquoted ("sentinel
# auth-pass NAME PASSWORD") each time it saves its state, and then cannot
# read it again if it holds a blank or a quote: refuse such a password now.
[[ $ONSITE_SECRET_REDIS_PASSWORD != *[[:space:]\"\']* ]] ||
    refuse secrets.redis_password "holds a blank or a quote, which Sentinel writes back into its file unquoted and then cannot read: choose a password without them"
pw=$(redis_str secrets.redis_password "$ONSITE_SECRET_REDIS_PASSWORD")
cat <<CONF
# Written by onsite for site $site. Sentinel keeps its state in this
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
sentinel down-after-milliseconds $name $down
sentinel failover-timeout $name $failover
sentinel parallel-syncs $name 1
CONF
