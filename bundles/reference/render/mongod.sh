#!/bin/bash
# MongoDB: one replica set over every mongodb node.
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
db_path=$(yaml_str components.mongodb.db_path "$ONSITE_SETTING_MONGODB_DB_PATH")
rs=$(yaml_str components.mongodb.replica_set "$ONSITE_SETTING_MONGODB_REPLICA_SET")
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
storage:
  dbPath: $db_path
net:
  port: $ONSITE_PORT_MONGODB_MONGOD
  bindIp: $ONSITE_NODE_ADDRESS,127.0.0.1
replication:
  replSetName: $rs
CONF
