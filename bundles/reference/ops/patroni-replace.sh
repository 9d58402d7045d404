#!/bin/bash
# node replace, through a survivor: forget the dead Patroni member (its
# member key in etcd; the leader then drops its replication slot). The new
# node's Patroni clones the leader when its install step starts it. A
# member that answers again (a resume after it joined) is left alone.
set -euo pipefail
. lib/onsite.sh
. lib/replace.sh
target_has_role postgres || { echo "$ONSITE_OP_NODE holds no PostgreSQL member: nothing to do"; exit 0; }
if http_get "$(node_address "$ONSITE_OP_NODE")" "$ONSITE_PORT_PATRONI_REST" /patroni > /dev/null 2>&1; then
    echo "Patroni on $ONSITE_OP_NODE answers: the new member has joined already"
    exit 0
fi
# etcd's v2 API, as Patroni uses it: DELETE /v2/keys/onsite/<scope>/members/<node>
python3 - "$ONSITE_PORT_ETCD_CLIENT" "$ONSITE_SITE" "$ONSITE_OP_NODE" <<'PY'
import sys, urllib.error, urllib.parse, urllib.request
port, scope, node = sys.argv[1:4]
url = f"http://127.0.0.1:{port}/v2/keys/onsite/{urllib.parse.quote(scope, safe='')}/members/{urllib.parse.quote(node, safe='')}"
try:
    urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=10)
    print(f"Patroni: removed the dead member {node}")
except urllib.error.HTTPError as exc:
    if exc.code != 404:
        raise SystemExit(f"onsite: etcd refused to remove Patroni's member {node}: HTTP {exc.code}")
    print(f"Patroni: {node} is no member any more (its key expired)")
PY
