#!/bin/bash
# MongoDB: one replica set over every mongodb node.
set -euo pipefail
. lib/onsite.sh
cat <<CONF
# Written by onsite for site $ONSITE_SITE; changes here are overwritten.
storage:
  dbPath: $ONSITE_SETTING_MONGODB_DB_PATH
net:
  port: $ONSITE_PORT_MONGODB_MONGOD
  bindIp: $ONSITE_NODE_ADDRESS,127.0.0.1
replication:
  replSetName: $(yaml_str "$ONSITE_SETTING_MONGODB_REPLICA_SET")
CONF
