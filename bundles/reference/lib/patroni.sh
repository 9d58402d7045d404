# shellcheck shell=bash
# Patroni cluster state, for the ready step and its check.

# The leader's address, from Patroni's REST API on any member (patronictl
# shows "ADDRESS:PORT" when the port is not PostgreSQL's default).
patroni_leader() {
    patronictl -c /etc/patroni/config.yml list -f json |
        python3 -c 'import json,sys; print(*[m["Host"].split(":")[0] for m in json.load(sys.stdin) if m["Role"] == "Leader"])'
}

# "STREAMING SYNC": how many standbys stream from the leader, and how many
# of them a commit waits for (asked on the leader itself). A replica being
# cloned shows as a second walsender named pg_basebackup while its copy
# runs: not a standby yet (node replace clones a new member into a running
# cluster, and counting it let the ready step pass too early).
patroni_standbys() {
    local leader
    leader=$(patroni_leader)
    [ -n "$leader" ] || return 1
    PGPASSWORD=$ONSITE_SECRET_POSTGRES_SUPERUSER PGCONNECT_TIMEOUT=5 \
        psql -h "$leader" -p "$ONSITE_PORT_PATRONI_POSTGRES" -U postgres -d postgres -AtF ' ' -c \
        "select count(*) filter (where state = 'streaming'),
                count(*) filter (where state = 'streaming' and sync_state in ('sync', 'quorum'))
         from pg_stat_replication where application_name <> 'pg_basebackup'"
}

# Every standby streams and, with synchronous_mode, one of them is
# synchronous: Patroni names it a loop (loop_wait) after they connect, and
# until then a commit does not wait for any standby.
patroni_ready() {
    local streaming sync
    read -r streaming sync <<< "$(patroni_standbys)" || return 1
    [ "$streaming" = "$(($(count_of "$(role_nodes postgres)") - 1))" ] || return 1
    [ "$ONSITE_SETTING_PATRONI_SYNCHRONOUS_MODE" != true ] || [ "$sync" -ge 1 ]
}

# Exit 0 once Patroni on this node has read a file whose change needs
# PostgreSQL restarted (a changed port): a reload is applied a loop later,
# and a restart before that would start PostgreSQL on the old settings.
patroni_pending_restart() {
    patronictl -c /etc/patroni/config.yml list -f json |
        python3 -c 'import json, os, sys
sys.exit(0 if any(m["Member"] == os.environ["ONSITE_NODE"] and m.get("Pending restart") for m in json.load(sys.stdin)) else 1)'
}

# The cluster-wide settings as checked values, into ttl, loop_wait, retry
# and sync: the file's bootstrap.dcs (render/patroni.sh) and the step that
# sets them in etcd on a running cluster (steps/patroni.sh) read the same.
patroni_dcs_settings() {
    # shellcheck disable=SC2034  # the caller's variables
    ttl=$(number components.patroni.ttl "$ONSITE_SETTING_PATRONI_TTL")
    # shellcheck disable=SC2034
    loop_wait=$(number components.patroni.loop_wait "$ONSITE_SETTING_PATRONI_LOOP_WAIT")
    # shellcheck disable=SC2034
    retry=$(number components.patroni.retry_timeout "$ONSITE_SETTING_PATRONI_RETRY_TIMEOUT")
    # shellcheck disable=SC2034
    sync=$(flag components.patroni.synchronous_mode "$ONSITE_SETTING_PATRONI_SYNCHRONOUS_MODE")
}

# The port the running postmaster listens on (line 4 of its postmaster.pid);
# empty when PostgreSQL does not run. PostgreSQL reads its port only when it
# starts, so this can differ from the file's.
patroni_running_port() {
    sed -n 4p /var/lib/postgresql/15/main/postmaster.pid 2>/dev/null || true
}
