# shellcheck shell=bash
# Patroni cluster state, for the ready step and its check.

# The leader's address, from Patroni's REST API on any member.
patroni_leader() {
    patronictl -c /etc/patroni/config.yml list -f json |
        python3 -c 'import json,sys; print(*[m["Host"] for m in json.load(sys.stdin) if m["Role"] == "Leader"])'
}

# How many standbys stream from the leader (asked on the leader itself).
patroni_streaming() {
    local leader
    leader=$(patroni_leader)
    [ -n "$leader" ] || return 1
    PGPASSWORD=$ONSITE_SECRET_POSTGRES_SUPERUSER PGCONNECT_TIMEOUT=5 \
        psql -h "$leader" -p "$ONSITE_PORT_PATRONI_POSTGRES" -U postgres -d postgres -Atc \
        "select count(*) from pg_stat_replication where state = 'streaming'"
}

patroni_ready() {
    [ "$(patroni_streaming)" = "$(($(count_of "$(role_nodes postgres)") - 1))" ]
}
