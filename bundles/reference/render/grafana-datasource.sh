#!/bin/bash
# Grafana (vendor payload): the plan's Prometheus as its data source.
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
. lib/monitoring.sh
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
apiVersion: 1
datasources:
  - name: Prometheus (onsite)
    uid: onsite-prometheus
    type: prometheus
    access: proxy
    url: http://$(monitoring_address):$ONSITE_PORT_PROMETHEUS_HTTP
    isDefault: true
    editable: false
    jsonData:
      timeInterval: ${SCRAPE}s
CONF
