#!/bin/bash
# node replace, through a survivor: remove the dead etcd member and add the
# new node as a member (it then starts with initial-cluster-state
# existing). Run again (a resume), it leaves a member that was added or
# has joined alone.
set -euo pipefail
. lib/onsite.sh
. lib/replace.sh
target_has_role etcd || { echo "$ONSITE_OP_NODE holds no etcd member: nothing to do"; exit 0; }
addr=$(node_address "$ONSITE_OP_NODE")
peer="http://$addr:$ONSITE_PORT_ETCD_PEER"
client="http://$addr:$ONSITE_PORT_ETCD_CLIENT"
list=$(etcd_local member list) || die "etcd does not answer on $ONSITE_NODE"
while IFS=', ' read -r id status name peers _rest; do
    [ "$peers" = "$peer" ] || [ "$name" = "$ONSITE_OP_NODE" ] || continue
    if [ "$status" = unstarted ]; then echo "etcd: $ONSITE_OP_NODE is a member already, not started yet"; exit 0; fi
    if [ -e "$STATE_DIR/etcd-replaced-$id" ] && etcd_up_at "$client"; then
        echo "etcd: $ONSITE_OP_NODE has joined already (member $id)"; exit 0
    fi
    echo "etcd: removing the dead member $name ($id)"
    etcd_local member remove "$id"
done <<< "$list"
out=$(etcd_local member add "$ONSITE_OP_NODE" --peer-urls="$peer")
echo "$out" | head -n 1
id=$(sed -n 's/^Member \([0-9a-f]*\) added.*/\1/p' <<< "$out")
mkdir -p "$STATE_DIR"
[ -z "$id" ] || touch "$STATE_DIR/etcd-replaced-$id"
