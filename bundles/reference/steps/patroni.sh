#!/bin/bash
# Configure and start Patroni; the first node to take the leader key in etcd
# creates the database, the others clone it and stream from it.
set -euo pipefail
. lib/onsite.sh
conf=$(bash render/patroni.sh)
changed=0
put_file /etc/patroni/config.yml 0600 postgres:postgres <<< "$conf" && changed=1
install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/15
if [ "$changed" = 1 ] && svc_running patroni; then
    # Patroni reads its file again on reload; DCS-wide settings apply through etcd.
    patronictl -c /etc/patroni/config.yml reload "$ONSITE_SITE" "$ONSITE_NODE" --force
else
    svc_start patroni
fi
