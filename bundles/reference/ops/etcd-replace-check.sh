#!/bin/bash
# node replace, through a survivor: etcd keeps its quorum while the dead
# member is removed and the new one added: besides the node, enough members
# answer for a majority of all members.
set -euo pipefail
. lib/onsite.sh
. lib/replace.sh
target_has_role etcd || { echo "$ONSITE_OP_NODE holds no etcd member: nothing to check"; exit 0; }
peer="http://$(node_address "$ONSITE_OP_NODE"):$ONSITE_PORT_ETCD_PEER"
total=0 up=0 down=()
if list=$(etcd_local member list 2>&1); then
    while IFS=', ' read -r _id _status name peers client _learner; do
        total=$((total + 1))
        if [ "$name" = "$ONSITE_OP_NODE" ] || [ "$peers" = "$peer" ]; then continue; fi
        if [ -n "$client" ] && etcd_up_at "$client"; then up=$((up + 1)); else down+=("${name:-$peers}"); fi
    done <<< "$list"
else
    # no answer: without quorum etcd cannot say who its members are; the plan's
    echo "etcd on $ONSITE_NODE does not answer ($list)"
    for n in $(role_nodes etcd); do
        total=$((total + 1))
        [ "$n" != "$ONSITE_OP_NODE" ] || continue
        if etcd_up_at "http://$(node_address "$n"):$ONSITE_PORT_ETCD_CLIENT"; then up=$((up + 1)); else down+=("$n"); fi
    done
fi
need=$((total / 2 + 1))
echo "etcd: $total members, $up up besides $ONSITE_OP_NODE, $need needed for quorum"
if [ "$up" -lt "$need" ]; then
    die "etcd would lose its quorum: besides $ONSITE_OP_NODE only $up of $total members answer (need $need; down: ${down[*]}). Bring ${down[*]} back first, then replace $ONSITE_OP_NODE"
fi
