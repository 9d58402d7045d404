#!/bin/bash
# /etc/default/prometheus-alertmanager: one Alertmanager, no cluster port.
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
url=http://$ONSITE_NODE_ADDRESS:$ONSITE_PORT_PROMETHEUS_ALERTMANAGER/
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
ARGS="--config.file=/etc/prometheus/alertmanager.yml --storage.path=/var/lib/prometheus/alertmanager --web.listen-address=$ONSITE_NODE_ADDRESS:$ONSITE_PORT_PROMETHEUS_ALERTMANAGER --web.external-url=$url --cluster.listen-address="
CONF
