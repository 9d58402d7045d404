#!/bin/bash
# Redis for this node: the first redis node starts as primary, the others
# replicate it. After that Sentinel decides who is primary.
set -euo pipefail
. lib/onsite.sh
primary=$(first_of "$(role_nodes redis)")
site=$(one_line site.name "$ONSITE_SITE")
pw=$(redis_str secrets.redis_password "$ONSITE_SECRET_REDIS_PASSWORD")
cat <<CONF
# Written by onsite for site $site. Sentinel rewrites parts of this
# file after a failover; onsite writes it again only when the plan changes.
bind $ONSITE_NODE_ADDRESS 127.0.0.1
port $ONSITE_PORT_REDIS_REDIS
protected-mode yes
daemonize no
supervised auto
pidfile /run/redis/redis-server.pid
loglevel notice
logfile ""
dir /var/lib/redis
appendonly yes
requirepass $pw
masterauth $pw
CONF
if [ "$ONSITE_NODE" != "$primary" ]; then
    echo "replicaof $(node_address "$primary") $ONSITE_PORT_REDIS_REDIS"
fi
