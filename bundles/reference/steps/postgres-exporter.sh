#!/bin/bash
# The PostgreSQL exporter: it logs in over the local socket as the role
# `prometheus` (member of pg_monitor; peer authentication, no password).
# The leader creates the role; the standbys have it by replication.
set -euo pipefail
. lib/onsite.sh
pg() { runuser -u postgres -- psql -XAtq -h /var/run/postgresql -p "$ONSITE_PORT_PATRONI_POSTGRES" -d postgres "$@"; }
if [ "$(pg -c 'select pg_is_in_recovery()')" = f ]; then
    pg -c "do \$\$ begin
             if not exists (select from pg_roles where rolname = 'prometheus') then create role prometheus login; end if;
           end \$\$" -c "grant pg_monitor to prometheus"
fi
conf=$(bash render/postgres-exporter-defaults.sh)
changed=0
put_file /etc/default/prometheus-postgres-exporter 0644 root:root <<< "$conf" && changed=1
if [ "$changed" = 1 ]; then svc_apply postgres-exporter; else svc_start postgres-exporter; fi
pg_up() { http_has "$ONSITE_NODE_ADDRESS" "$ONSITE_PORT_POSTGRES_EXPORTER_METRICS" /metrics 'pg_up 1'; }
wait_for 60 "the PostgreSQL exporter reaching PostgreSQL (pg_up 1)" pg_up
