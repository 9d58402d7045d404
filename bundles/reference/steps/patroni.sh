#!/bin/bash
# Configure and start Patroni; the first node to take the leader key in etcd
# creates the database, the others clone it and stream from it.
#
# On a running cluster (a changed plan) the new file is applied in place:
# Patroni re-reads it on reload; the cluster-wide settings (ttl, loop_wait,
# retry_timeout, synchronous_mode) live in etcd once the cluster exists (the
# file's bootstrap.dcs is read only when the cluster is made), so they are
# set there; and PostgreSQL reads its port only when it starts, so a member
# still listening on another port is restarted (one node at a time, the
# leader last: the step's `leader:` script).
set -euo pipefail
. lib/onsite.sh
. lib/patroni.sh
conf=$(bash render/patroni.sh)
changed=0
put_file /etc/patroni/config.yml 0600 postgres:postgres <<< "$conf" && changed=1
install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/15
if ! svc_running patroni; then
    svc_start patroni
    exit 0
fi
ctl=(patronictl -c /etc/patroni/config.yml)
if [ "$changed" = 1 ]; then
    "${ctl[@]}" reload "$ONSITE_SITE" "$ONSITE_NODE" --force
fi
patroni_dcs_settings
if "${ctl[@]}" show-config "$ONSITE_SITE" > /dev/null 2>&1; then
    "${ctl[@]}" edit-config "$ONSITE_SITE" --force --quiet \
        -s "ttl=$ttl" -s "loop_wait=$loop_wait" -s "retry_timeout=$retry" -s "synchronous_mode=$sync"
fi
running_port=$(patroni_running_port)
if [ -n "$running_port" ] && [ "$running_port" != "$ONSITE_PORT_PATRONI_POSTGRES" ]; then
    echo "PostgreSQL listens on $running_port, the plan says $ONSITE_PORT_PATRONI_POSTGRES: restarting this member"
    wait_for 30 "Patroni to read the new port from its file" patroni_pending_restart
    "${ctl[@]}" restart "$ONSITE_SITE" "$ONSITE_NODE" --force --pending
    # Patroni answers before PostgreSQL is back: wait for it on the new port.
    wait_for 60 "PostgreSQL on port $ONSITE_PORT_PATRONI_POSTGRES after the restart" \
        pg_isready -q -h 127.0.0.1 -p "$ONSITE_PORT_PATRONI_POSTGRES"
fi
