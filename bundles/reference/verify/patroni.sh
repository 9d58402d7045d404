#!/bin/bash
# Patroni: one leader, every other member streaming from it, with its lag;
# with synchronous_mode, a synchronous standby (a commit waits for it, so a
# failover loses no committed row). Asked on the leader over the network,
# as the patroni-ready step does.
set -uo pipefail
. lib/onsite.sh
. lib/patroni.sh
leader=$(patroni_leader 2>/dev/null)
rows=""
if [ -n "$leader" ] && [ "$(count_of "$leader")" = 1 ]; then
    rows=$(PGPASSWORD=$ONSITE_SECRET_POSTGRES_SUPERUSER PGCONNECT_TIMEOUT=5 \
        psql -XAt -h "$leader" -p "$ONSITE_PORT_PATRONI_POSTGRES" -U postgres -d postgres -c \
        "select application_name, state, sync_state,
                coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint
         from pg_stat_replication where application_name <> 'pg_basebackup' order by 1" 2>/dev/null)
fi
python3 - "$leader" "$(( $(count_of "$(role_nodes postgres)") - 1 ))" "$ONSITE_SETTING_PATRONI_SYNCHRONOUS_MODE" "$rows" <<'PY'
import json, sys
leader, want, sync_mode, rows = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "true", sys.argv[4]
standbys = []
for line in rows.strip().splitlines():
    parts = line.split("|")
    if len(parts) == 4:
        standbys.append({"member": parts[0], "state": parts[1], "sync_state": parts[2], "lag_bytes": int(parts[3] or 0)})
streaming = [s for s in standbys if s["state"] == "streaming"]
lags = ", ".join(f"{s['member']} {s['sync_state']} lag {s['lag_bytes']} B" for s in standbys) or "none"
if not leader or len(leader.split()) != 1:
    v = {"status": "failed", "summary": f"{len(leader.split())} leaders",
         "hint": "patronictl -c /etc/patroni/config.yml list (on a postgres node) shows the state"}
elif len(streaming) != want:
    v = {"status": "failed", "summary": f"leader {leader}, {len(streaming)} of {want} standbys streaming ({lags})",
         "hint": "look at /var/log/onsite/patroni.log on the standbys"}
elif sync_mode and want and not any(s["sync_state"] in ("sync", "quorum") for s in streaming):
    v = {"status": "failed",
         "summary": f"leader {leader}: synchronous_mode is on but no standby is synchronous ({lags}): a commit waits for no standby",
         "hint": "patronictl -c /etc/patroni/config.yml list shows the Sync Standby; look at /var/log/onsite/patroni.log on the leader"}
else:
    v = {"status": "ok", "summary": f"leader {leader}; {want} standbys streaming: {lags}"}
print("ONSITE-RESULT " + json.dumps({**v, "details": {"leader": leader, "standbys": standbys}}))
PY
