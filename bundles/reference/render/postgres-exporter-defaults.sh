#!/bin/bash
# /etc/default/prometheus-postgres-exporter: the local PostgreSQL over its
# socket as the role `prometheus` (pg_monitor; peer authentication, so no
# password exists for it).
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
DATA_SOURCE_NAME="host=/var/run/postgresql port=$ONSITE_PORT_PATRONI_POSTGRES user=prometheus dbname=postgres sslmode=disable"
ARGS="--web.listen-address=$ONSITE_NODE_ADDRESS:$ONSITE_PORT_POSTGRES_EXPORTER_METRICS"
CONF
