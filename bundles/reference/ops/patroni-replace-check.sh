#!/bin/bash
# node replace, through a survivor: PostgreSQL has a running leader that is
# not the node being replaced. Otherwise that node may hold the only good
# data: replace never promotes a lagging replica. A failover Patroni is
# making on its own (the node just died) is waited for, up to ttl plus two
# loops.
set -euo pipefail
. lib/onsite.sh
. lib/replace.sh
target_has_role postgres || { echo "$ONSITE_OP_NODE holds no PostgreSQL member: nothing to check"; exit 0; }
leader_now() {
    patronictl -c /etc/patroni/config.yml list -f json | python3 -c 'import json,sys
print(*[m["Member"] for m in json.load(sys.stdin) if m["Role"] == "Leader" and m["State"] == "running"])'
}
ttl=$(number components.patroni.ttl "$ONSITE_SETTING_PATRONI_TTL")
loop=$(number components.patroni.loop_wait "$ONSITE_SETTING_PATRONI_LOOP_WAIT")
leader=""
for ((i = 0; i <= ttl + 2 * loop; i++)); do
    leader=$(leader_now 2> /dev/null) || leader=""
    if [ -n "$leader" ] && [ "$leader" != "$ONSITE_OP_NODE" ]; then break; fi
    [ "$i" != 0 ] || echo "waiting for Patroni to name a leader other than $ONSITE_OP_NODE (up to $((ttl + 2 * loop)) s)"
    sleep 1
done
patronictl -c /etc/patroni/config.yml list || true
if [ -z "$leader" ]; then
    die "PostgreSQL has no running leader: $ONSITE_OP_NODE may hold the only good data, and node replace never promotes a lagging replica. Bring the old leader back, or decide a failover knowingly (patronictl failover), then run node replace again"
fi
if [ "$leader" = "$ONSITE_OP_NODE" ]; then
    die "$ONSITE_OP_NODE still leads PostgreSQL and no replica took over (none in sync?): it may hold the only good data. Bring it back, or decide a failover knowingly (patronictl failover), then run node replace again"
fi
echo "PostgreSQL: $leader leads"
