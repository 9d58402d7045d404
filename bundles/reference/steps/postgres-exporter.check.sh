#!/bin/bash
set -euo pipefail
. lib/onsite.sh
bash render/postgres-exporter-defaults.sh | file_current /etc/default/prometheus-postgres-exporter
svc_running postgres-exporter
http_has "$ONSITE_NODE_ADDRESS" "$ONSITE_PORT_POSTGRES_EXPORTER_METRICS" /metrics 'pg_up 1'
