#!/bin/bash
# Exit 0 on the Redis primary: while a changed plan is applied node by node,
# the replicas go first.
set -euo pipefail
. lib/onsite.sh
export REDISCLI_AUTH=$ONSITE_SECRET_REDIS_PASSWORD  # the environment, never argv
timeout 10 redis-cli --no-auth-warning -h 127.0.0.1 -p "$ONSITE_PORT_REDIS_REDIS" info replication | tr -d '\r' |
    grep -qx 'role:master'
