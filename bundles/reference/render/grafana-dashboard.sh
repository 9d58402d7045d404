#!/bin/bash
# Grafana (vendor payload): one dashboard for the stack: targets, firing
# alerts, VIP holders, Patroni, Sentinel, etcd, disks.
set -euo pipefail
. lib/onsite.sh
# json_str VALUE: a JSON string (the title passed one_line: no control character).
json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$(printf '%s' "$s" | tr -d '\000-\037')"; }
title=$(one_line site.name "onsite: $ONSITE_SITE")
ds='{"type": "prometheus", "uid": "onsite-prometheus"}'
id=0
# panel TYPE TITLE X Y W H EXPR LEGEND
panel() {
    id=$((id + 1))
    printf '%s\n    {"id": %d, "type": "%s", "title": "%s", "datasource": %s,\n' "${sep:-}" "$id" "$1" "$2" "$ds"
    printf '     "gridPos": {"x": %d, "y": %d, "w": %d, "h": %d},\n' "$3" "$4" "$5" "$6"
    printf '     "targets": [{"refId": "A", "datasource": %s, "expr": %s, "legendFormat": %s}]}' "$ds" "$(json_str "$7")" "$(json_str "$8")"
    sep=,
}
cat <<CONF
{
  "uid": "onsite-stack",
  "title": $(json_str "$title"),
  "tags": ["onsite"],
  "timezone": "browser",
  "schemaVersion": 38,
  "refresh": "30s",
  "time": {"from": "now-3h", "to": "now"},
  "panels": [
CONF
panel stat "Targets up" 0 0 6 4 'sum(up)' ''
panel stat "Targets down" 6 0 6 4 'count(up == 0 or redis_up == 0 or pg_up == 0) or vector(0)' ''
panel stat "Alerts firing" 12 0 6 4 'count(ALERTS{alertstate="firing"}) or vector(0)' ''
panel stat "Patroni leaders" 18 0 6 4 'sum(patroni_primary)' ''
panel timeseries "VIP held (1 = this node)" 0 4 12 8 'onsite_vip_held' '{{vip}} on {{node}}'
panel timeseries "Standby lag (bytes)" 12 4 12 8 'scalar(max(patroni_xlog_location and on (instance) patroni_primary == 1)) - (patroni_xlog_replayed_location and on (instance) patroni_replica == 1)' '{{node}}'
panel timeseries "Sentinel: sentinels that agree" 0 12 12 8 'redis_sentinel_master_ok_sentinels' '{{node}}'
panel timeseries "etcd has a leader" 12 12 12 8 'etcd_server_has_leader' '{{node}}'
panel timeseries "Disk used (%)" 0 20 24 8 '100 * (node_filesystem_size_bytes - node_filesystem_free_bytes) / (node_filesystem_size_bytes - node_filesystem_free_bytes + node_filesystem_avail_bytes)' '{{node}} {{mountpoint}}'
printf '\n  ]\n}\n'
