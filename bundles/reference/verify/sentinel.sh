#!/bin/bash
# Sentinel sees the primary, every replica and every sentinel, and has quorum.
set -uo pipefail
. lib/onsite.sh
. lib/verify.sh
export REDISCLI_AUTH=$ONSITE_SECRET_REDIS_PASSWORD  # the environment, never argv
name=$ONSITE_SETTING_SENTINEL_MASTER_NAME
replicas=$(( $(count_of "$(role_nodes redis)") - 1 ))
sentinels=$(count_of "$(role_nodes sentinel)")
ask() { redis-cli --no-auth-warning -h 127.0.0.1 -p "$ONSITE_PORT_SENTINEL_SENTINEL" "$@" 2>/dev/null; }
line=$(ask info sentinel | tr -d '\r' | grep '^master0:')
quorum=$(ask sentinel ckquorum "$name" | tr -d '\r' | tail -n 1)
field() { printf '%s' "$line" | tr ',' '\n' | sed -n "s/^\(master0:\)\{0,1\}$1=//p"; }
master=$(field address) status=$(field status) got_r=$(field slaves) got_s=$(field sentinels)
details=$(python3 -c 'import json,sys; print(json.dumps(dict(zip(["master","status","replicas","sentinels","quorum"], sys.argv[1:]))))' \
    "$master" "$status" "$got_r" "$got_s" "$quorum")
if [ "$status" = ok ] && [ "$got_r" = "$replicas" ] && [ "$got_s" = "$sentinels" ] && [ "${quorum#OK}" != "$quorum" ]; then
    verdict ok "primary $master, $replicas replicas, $sentinels sentinels, quorum OK" "" "$details"
else
    verdict failed "primary ${master:-?}: status ${status:-?}, ${got_r:-0} replicas, ${got_s:-0} sentinels; ${quorum:-no answer}" \
        "redis-cli -p $ONSITE_PORT_SENTINEL_SENTINEL info sentinel on a sentinel node shows the state" "$details"
fi
