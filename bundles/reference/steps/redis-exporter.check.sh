#!/bin/bash
set -euo pipefail
. lib/onsite.sh
bash render/redis-exporter-defaults.sh | file_current /etc/default/prometheus-redis-exporter
svc_running redis-exporter
http_has "$ONSITE_NODE_ADDRESS" "$ONSITE_PORT_REDIS_EXPORTER_METRICS" /metrics 'redis_up 1'
