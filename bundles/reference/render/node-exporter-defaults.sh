#!/bin/bash
# /etc/default/prometheus-node-exporter: on the node's address, with the
# textfile folder onsite-vip-facts writes into.
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
ARGS="--web.listen-address=$ONSITE_NODE_ADDRESS:$ONSITE_PORT_NODE_EXPORTER_METRICS --collector.textfile.directory=/var/lib/prometheus/node-exporter"
CONF
