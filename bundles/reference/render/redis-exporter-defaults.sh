#!/bin/bash
# /etc/default/prometheus-redis-exporter (mode 0600): the node's Redis (or
# its Sentinel where it has no Redis) and the one secret the exporter needs,
# in its environment, never on its command line.
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
pw=$(one_line secrets.redis_password "$ONSITE_SECRET_REDIS_PASSWORD")
pw=$(env_str "$pw")
if has_role redis; then port=$ONSITE_PORT_REDIS_REDIS; else port=$ONSITE_PORT_SENTINEL_SENTINEL; fi
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
REDIS_ADDR="redis://$ONSITE_NODE_ADDRESS:$port"
REDIS_PASSWORD=$pw
ARGS="--web.listen-address=$ONSITE_NODE_ADDRESS:$ONSITE_PORT_REDIS_EXPORTER_METRICS"
CONF
