#!/bin/bash
# node replace, through a survivor: PostgreSQL has a running leader that is
# not the node being replaced. Otherwise that node may hold the only good
# data: replace never promotes a lagging replica.
set -euo pipefail
. lib/onsite.sh
. lib/replace.sh
target_has_role postgres || { echo "$ONSITE_OP_NODE holds no PostgreSQL member: nothing to check"; exit 0; }
list=$(patronictl -c /etc/patroni/config.yml list -f json) || die "Patroni does not answer on $ONSITE_NODE"
leader=$(python3 -c 'import json,sys
print(*[m["Member"] for m in json.load(sys.stdin) if m["Role"] == "Leader" and m["State"] == "running"])' <<< "$list")
patronictl -c /etc/patroni/config.yml list || true
if [ -z "$leader" ]; then
    die "PostgreSQL has no running leader: $ONSITE_OP_NODE may hold the only good data, and node replace never promotes a lagging replica. Bring the old leader back, or decide a failover knowingly (patronictl failover), then run node replace again"
fi
if [ "$leader" = "$ONSITE_OP_NODE" ]; then
    die "$ONSITE_OP_NODE still leads PostgreSQL (Patroni has not failed over yet): wait for the failover (ttl $ONSITE_SETTING_PATRONI_TTL s) or switch over first, then run node replace again"
fi
echo "PostgreSQL: $leader leads"
