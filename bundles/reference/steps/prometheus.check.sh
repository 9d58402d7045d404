#!/bin/bash
set -euo pipefail
. lib/onsite.sh
bash render/prometheus.sh | file_current /etc/prometheus/prometheus.yml
bash render/prometheus-rules.sh | file_current /etc/prometheus/onsite-rules.yml
bash render/prometheus-defaults.sh | file_current /etc/default/prometheus
bash render/alertmanager.sh | file_current /etc/prometheus/alertmanager.yml
bash render/alertmanager-defaults.sh | file_current /etc/default/prometheus-alertmanager
svc_running alertmanager
svc_running prometheus
http_has "$ONSITE_NODE_ADDRESS" "$ONSITE_PORT_PROMETHEUS_HTTP" /-/ready '.*Ready.*'
