#!/bin/bash
# Prometheus on the monitoring node: every node's node-exporter, etcd,
# Patroni and HAProxy on their own metrics endpoints, the PostgreSQL and
# Redis exporters, each Sentinel through the Redis exporter of its node, and
# Alertmanager. Components the plan marks external are not scraped.
set -euo pipefail
. lib/onsite.sh
. lib/monitoring.sh
site=$(one_line site.name "$ONSITE_SITE")
site_label=$(yaml_str site.name "$ONSITE_SITE")
# Each node's name as a YAML label value.
declare -A label
i=0
for n in $ONSITE_NODES; do label[$n]=$(yaml_str "nodes[$i].name" "$n"); i=$((i + 1)); done
addr=$ONSITE_NODE_ADDRESS
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
global:
  scrape_interval: ${SCRAPE}s
  scrape_timeout: ${SCRAPE_TIMEOUT}s
  evaluation_interval: ${SCRAPE}s
  external_labels:
    site: $site_label
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['$addr:$ONSITE_PORT_PROMETHEUS_ALERTMANAGER']
rule_files:
  - /etc/prometheus/onsite-rules.yml
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['$addr:$ONSITE_PORT_PROMETHEUS_HTTP']
        labels: {node: ${label[$ONSITE_NODE]}}
  - job_name: alertmanager
    static_configs:
      - targets: ['$addr:$ONSITE_PORT_PROMETHEUS_ALERTMANAGER']
        labels: {node: ${label[$ONSITE_NODE]}}
CONF
# job NAME ROLE PORT [PATH]: one target per node holding ROLE, labelled with its name.
job() {
    local name=$1 role=$2 port=$3 path=${4:-} n
    [ -n "$(role_nodes "$role")" ] || return 0
    printf '  - job_name: %s\n' "$name"
    [ -z "$path" ] || printf '    metrics_path: %s\n' "$path"
    printf '    static_configs:\n'
    for n in $(role_nodes "$role"); do
        printf "      - targets: ['%s:%s']\n        labels: {node: %s}\n" "$(node_address "$n")" "$port" "${label[$n]}"
    done
}
if ! is_external node-exporter; then
    printf '  - job_name: node\n    static_configs:\n'
    for n in $ONSITE_NODES; do
        printf "      - targets: ['%s:%s']\n        labels: {node: %s}\n" "$(node_address "$n")" "$ONSITE_PORT_NODE_EXPORTER_METRICS" "${label[$n]}"
    done
fi
is_external etcd || job etcd etcd "$ONSITE_PORT_ETCD_CLIENT"
is_external patroni || job patroni postgres "$ONSITE_PORT_PATRONI_REST"
is_external postgres-exporter || is_external patroni || job postgres postgres "$ONSITE_PORT_POSTGRES_EXPORTER_METRICS"
if ! is_external redis-exporter; then
    is_external redis || job redis redis "$ONSITE_PORT_REDIS_EXPORTER_METRICS"
    if ! is_external sentinel && [ -n "$(role_nodes sentinel)" ]; then
        job sentinel sentinel "$ONSITE_PORT_SENTINEL_SENTINEL" /scrape
        # Each Sentinel through the Redis exporter on its own node (/scrape?target=).
        cat <<CONF
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
        replacement: redis://\$1
      - source_labels: [__address__]
        target_label: instance
      - source_labels: [__address__]
        regex: '(.+):[0-9]+'
        target_label: __address__
        replacement: \$1:$ONSITE_PORT_REDIS_EXPORTER_METRICS
CONF
    fi
fi
is_external haproxy || job haproxy k8s-master "$ONSITE_PORT_HAPROXY_STATS"
