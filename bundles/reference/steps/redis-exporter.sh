#!/bin/bash
# The Redis exporter: the node's Redis on /metrics, its Sentinel through
# /scrape. The Redis password is in its environment file (0600), nowhere else.
set -euo pipefail
. lib/onsite.sh
conf=$(bash render/redis-exporter-defaults.sh)
changed=0
put_file /etc/default/prometheus-redis-exporter 0600 root:root <<< "$conf" && changed=1
if [ "$changed" = 1 ]; then svc_apply redis-exporter; else svc_start redis-exporter; fi
redis_up() { http_has "$ONSITE_NODE_ADDRESS" "$ONSITE_PORT_REDIS_EXPORTER_METRICS" /metrics 'redis_up 1'; }
wait_for 60 "the Redis exporter reaching Redis (redis_up 1)" redis_up
