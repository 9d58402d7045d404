#!/bin/bash
# node replace, on the node before anything changes through the survivors:
# it is an empty server (reinstalled or swapped), not a member that still
# runs with its data: replacing that would throw a healthy member out.
set -euo pipefail
. lib/onsite.sh
mark=$STATE_DIR/replace-started
if [ -e "$mark" ]; then
    echo "$ONSITE_NODE: a replace began here already ($(cat "$mark")): continuing it"
    exit 0
fi
found=()
for path in /var/lib/etcd/member /var/lib/postgresql/15/main/PG_VERSION /etc/patroni/config.yml \
    /etc/redis/sentinel.conf /etc/keepalived/keepalived.conf; do
    if [ -e "$path" ]; then found+=("$path"); fi
done
if [ "${#found[@]}" -gt 0 ]; then
    die "$ONSITE_NODE is not an empty server: it still holds ${found[*]}. node replace is for a node that was reinstalled or swapped; to rebuild this one, uninstall it first (onsite uninstall FILE --only $ONSITE_NODE) or reinstall its OS"
fi
mkdir -p "$STATE_DIR"
chmod 0700 "$STATE_DIR"
date -u +%FT%TZ > "$mark"
echo "$ONSITE_NODE is an empty server"
