#!/bin/bash
# node replace, on the new node before its install: its etcd joins the
# running cluster (render/etcd.sh reads the marker). A node that still holds
# etcd data from before is not an empty server: refuse.
set -euo pipefail
. lib/onsite.sh
mark=$STATE_DIR/etcd-join-existing
if [ -d /var/lib/etcd/member ] && [ ! -e "$mark" ]; then
    die "$ONSITE_NODE still holds etcd data (/var/lib/etcd/member): it is not an empty server. Reinstall it, or remove that data knowingly, then run node replace again"
fi
mkdir -p "$STATE_DIR"
chmod 0700 "$STATE_DIR"
touch "$mark"
echo "etcd on $ONSITE_NODE will join the running cluster"
