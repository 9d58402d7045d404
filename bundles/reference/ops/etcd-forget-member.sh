#!/bin/bash
# onsite uninstall --only NODE, through a survivor: NODE's etcd member leaves
# the cluster (its data is gone; a member that came back empty under the old
# id would stop the cluster). Kept (--keep-data): it stays a member and its
# kept data brings it back. A whole-site uninstall has no survivor to ask.
set -euo pipefail
. lib/onsite.sh
. lib/uninstall.sh
node=${ONSITE_OP_NODE:-}
if [ -z "$node" ] || keep_data; then echo "nothing to forget"; exit 0; fi
case " $(role_nodes etcd) " in *" $node "*) ;; *) echo "$node holds no etcd member"; exit 0 ;; esac
ep="http://$ONSITE_NODE_ADDRESS:$ONSITE_PORT_ETCD_CLIENT"
id=$(ETCDCTL_API=3 etcdctl --endpoints="$ep" member list | awk -F', ' -v n="$node" '$3 == n {print $1}')
if [ -z "$id" ]; then echo "$node is not an etcd member (any more)"; exit 0; fi
ETCDCTL_API=3 etcdctl --endpoints="$ep" member remove "$id"
