#!/bin/bash
# onsite uninstall --only NODE, before anything changes: refuse when taking
# NODE away would leave a running cluster without its quorum (asked from
# this node, a survivor). A whole-site uninstall has nothing to guard.
set -euo pipefail
. lib/onsite.sh
node=${ONSITE_OP_NODE:-}
[ -n "$node" ] || { echo "whole-site uninstall: no quorum to keep"; exit 0; }
in_role() { case " $(role_nodes "$1") " in *" $2 "*) return 0 ;; esac; return 1; }
if in_role etcd "$node" && ! is_external etcd; then
    members=$(count_of "$(role_nodes etcd)")
    need=$((members / 2 + 1))
    healthy=0 down=()
    for n in $(role_nodes etcd); do
        [ "$n" = "$node" ] && continue
        if ETCDCTL_API=3 etcdctl --endpoints="http://$(node_address "$n"):$ONSITE_PORT_ETCD_CLIENT" \
               --command-timeout=5s endpoint health > /dev/null 2>&1; then
            healthy=$((healthy + 1))
        else
            down+=("$n")
        fi
    done
    if [ "$healthy" -lt "$need" ]; then
        die "uninstalling $node would leave etcd without its quorum: $healthy of the other members answer" \
            "(${down[*]} do not), $need of $members are needed. Bring ${down[*]} back first, or uninstall the whole site"
    fi
    echo "etcd keeps its quorum without $node: $healthy other members healthy, $need needed"
fi
if in_role sentinel "$node" && ! is_external sentinel; then
    echo "Sentinel: the other sentinels keep watching; $node's is forgotten by a SENTINEL RESET on node replace"
fi
