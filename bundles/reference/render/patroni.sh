#!/bin/bash
# Patroni's configuration for this node: PostgreSQL 15 on the plan's etcd.
set -euo pipefail
. lib/onsite.sh
. lib/patroni.sh
hosts=()
for a in $(role_addresses etcd); do hosts+=("$a:$ONSITE_PORT_ETCD_CLIENT"); done
pg=$ONSITE_PORT_PATRONI_POSTGRES rest=$ONSITE_PORT_PATRONI_REST
site=$(one_line site.name "$ONSITE_SITE")
scope=$(yaml_str site.name "$ONSITE_SITE")
su_pw=$(yaml_str secrets.postgres_superuser "$ONSITE_SECRET_POSTGRES_SUPERUSER")
repl_pw=$(yaml_str secrets.postgres_replication "$ONSITE_SECRET_POSTGRES_REPLICATION")
patroni_dcs_settings
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
scope: $scope
namespace: /onsite/
name: $ONSITE_NODE
restapi:
  listen: $ONSITE_NODE_ADDRESS:$rest
  connect_address: $ONSITE_NODE_ADDRESS:$rest
etcd:
  hosts: $(join , "${hosts[@]}")
bootstrap:
  dcs:
    ttl: $ttl
    loop_wait: $loop_wait
    retry_timeout: $retry
    maximum_lag_on_failover: 1048576
    synchronous_mode: $sync
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_level: replica
        hot_standby: 'on'
        wal_log_hints: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
  initdb:
    - encoding: UTF8
    - data-checksums
postgresql:
  listen: $ONSITE_NODE_ADDRESS,127.0.0.1:$pg
  connect_address: $ONSITE_NODE_ADDRESS:$pg
  data_dir: /var/lib/postgresql/15/main
  bin_dir: /usr/lib/postgresql/15/bin
  pgpass: /var/lib/postgresql/.pgpass.patroni
  authentication:
    superuser:
      username: postgres
      password: $su_pw
    replication:
      username: replicator
      password: $repl_pw
  parameters:
    unix_socket_directories: /var/run/postgresql
  pg_hba:
    - local all all peer
    - host all all 127.0.0.1/32 scram-sha-256
    # A standby asks its own timeline over a replication connection to
    # localhost (Patroni's REST API and /metrics: without it, "None").
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host replication replicator $ONSITE_SUBNET scram-sha-256
    - host all all $ONSITE_SUBNET scram-sha-256
CONF
