#!/bin/bash
# etcd: every member healthy, as many members as the plan has.
set -uo pipefail
. lib/onsite.sh
. lib/etcd.sh
# etcdctl exits 1 when an endpoint is unhealthy; its JSON says which.
health=$(etcd_all --command-timeout=5s endpoint health -w json 2>/dev/null)
members=$(etcd_all --command-timeout=5s member list -w json 2>/dev/null)
python3 - "$(count_of "$(role_nodes etcd)")" "${health:-[]}" "${members:-"{}"}" <<'PY'
import json, sys
want = int(sys.argv[1])
try:
    health = json.loads(sys.argv[2])
    members = json.loads(sys.argv[3]).get("members", [])
except ValueError:
    health, members = [], []
bad = [h.get("endpoint", "?") for h in health if not h.get("health")]
good = [h.get("endpoint", "?") for h in health if h.get("health")]
details = {"members": sorted(m.get("name", "") for m in members), "healthy": good}
if bad or len(members) != want or not good:
    v = {"status": "failed", "summary": f"{len(members)} members, unhealthy: {', '.join(bad) or 'none'} (the plan has {want})",
         "hint": "look at /var/log/onsite/etcd.log on the unhealthy members"}
else:
    v = {"status": "ok", "summary": f"{len(members)} members, all healthy"}
print("ONSITE-RESULT " + json.dumps({**v, "details": details}))
PY
