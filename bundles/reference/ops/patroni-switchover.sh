#!/bin/bash
# onsite switchover FILE postgres [--to NODE]: a planned move of the Patroni
# leader to NODE, or without --to to the healthiest standby (the synchronous
# one, else the one with the least lag).
#
# The target must stream from the leader with less than Patroni's
# maximum_lag_on_failover (1 MiB) of lag. With synchronous_mode Patroni hands
# over only to a synchronous standby: an asynchronous target is made one
# first (synchronous_node_count raised for the move, then put back), so a
# commit acknowledged before the move is on the new leader. Afterwards the
# target leads and every other member streams from it, or the step fails.
set -euo pipefail
. lib/onsite.sh
. lib/patroni.sh
conf=/etc/patroni/config.yml
to=$ONSITE_OP_TO
members=$(role_nodes postgres)
if [ -n "$to" ] && [[ " $members " != *" $to "* ]]; then
    die "--to $to is not a PostgreSQL member (members: $members)"
fi
pg=$ONSITE_PORT_PATRONI_POSTGRES

# The members as "NAME ROLE STATE", ROLE one word (Leader, Sync-Standby, Replica).
members_now() {
    patronictl -c "$conf" list -f json | python3 -c '
import json, sys
for m in json.load(sys.stdin):
    print(m["Member"], m["Role"].replace(" ", "-"), m["State"])'
}
leader_now() { members_now | awk '$2 == "Leader" && $3 == "running" {print $1}'; }

# "NAME STATE SYNC_STATE LAG_BYTES" per standby, asked on the leader.
standbys_of() {
    PGPASSWORD=$ONSITE_SECRET_POSTGRES_SUPERUSER PGCONNECT_TIMEOUT=5 \
        psql -XAtF ' ' -h "$(node_address "$1")" -p "$pg" -U postgres -d postgres -c \
        "select application_name, state, sync_state,
                coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint
         from pg_stat_replication order by application_name"
}

# healthy LEADER NAME: NAME streams from LEADER with less than 1 MiB of lag.
healthy() { standbys_of "$1" | awk -v n="$2" '$1 == n && $2 == "streaming" && $4 < 1048576 {ok = 1} END {exit !ok}'; }
is_sync() { standbys_of "$1" | awk -v n="$2" '$1 == n && ($3 == "sync" || $3 == "quorum") {ok = 1} END {exit !ok}'; }

leader=$(leader_now)
if [ -z "$leader" ] || [ "$(count_of "$leader")" != 1 ]; then
    die "no single running Patroni leader now ($(members_now | tr '\n' ';')): fix the cluster first (onsite verify FILE)"
fi
echo "leader now: $leader"
if [ -z "$to" ]; then
    to=$(standbys_of "$leader" | awk '$2 == "streaming" {print ($3 == "sync" || $3 == "quorum" ? 0 : 1), $4, $1}' |
        sort -n -k1,1 -k2,2 | awk 'NR == 1 {print $3}')
    [ -n "$to" ] || die "no standby streams from $leader: nowhere to move the leader to"
    echo "no --to: the healthiest standby is $to"
fi
if [ "$to" = "$leader" ]; then
    wait_for 60 "every standby streaming from $to" patroni_ready
    echo "$to leads already and every standby streams from it: nothing to move"
    exit 0
fi
wait_for 30 "$to streaming from $leader with less than 1 MiB of lag (the target must be healthy)" healthy "$leader" "$to"
echo "$to streams from $leader: $(standbys_of "$leader" | awk -v n="$to" '$1 == n {print $3 ", lag " $4 " B"}')"

restore=""
put_back() {
    if [ -n "$restore" ]; then
        patronictl -c "$conf" edit-config "$ONSITE_SITE" --force -q -s "synchronous_node_count=$restore" || true
        echo "synchronous_node_count back to $restore"
    fi
}
trap put_back EXIT
if [ "$ONSITE_SETTING_PATRONI_SYNCHRONOUS_MODE" = true ] && ! is_sync "$leader" "$to"; then
    restore=$(patronictl -c "$conf" show-config "$ONSITE_SITE" | sed -n 's/^synchronous_node_count: *//p')
    restore=${restore:-1}
    echo "$to is asynchronous: making it synchronous for the move"
    patronictl -c "$conf" edit-config "$ONSITE_SITE" --force -q -s "synchronous_node_count=$(($(count_of "$members") - 1))"
    sync_standby() { members_now | awk -v n="$to" '$1 == n && $2 == "Sync-Standby" {ok = 1} END {exit !ok}'; }
    wait_for 60 "$to a synchronous standby" sync_standby
fi
patronictl -c "$conf" switchover "$ONSITE_SITE" --leader "$leader" --candidate "$to" --force
leads() { [ "$(leader_now)" = "$to" ]; }
wait_for 60 "$to leading" leads
put_back
restore=""
# Patroni names a synchronous standby again a loop (loop_wait) after the
# move: until then a commit waits for none, so wait for it too.
settled() { leads && patroni_ready; }
wait_for 120 "every other member streaming from $to (one synchronously with synchronous_mode)" settled
echo "switched over: $to leads; standbys: $(standbys_of "$to" | awk '{printf "%s %s %s; ", $1, $2, $3}')"
