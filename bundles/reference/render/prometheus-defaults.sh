#!/bin/bash
# /etc/default/prometheus: the command line of Debian's prometheus unit.
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
. lib/monitoring.sh
url=http://$ONSITE_NODE_ADDRESS:$ONSITE_PORT_PROMETHEUS_HTTP/
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
ARGS="--config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/var/lib/prometheus/metrics2 --storage.tsdb.retention.time=$ONSITE_SETTING_PROMETHEUS_RETENTION --web.listen-address=$ONSITE_NODE_ADDRESS:$ONSITE_PORT_PROMETHEUS_HTTP --web.external-url=$url"
CONF
