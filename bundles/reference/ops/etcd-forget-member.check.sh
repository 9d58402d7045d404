#!/bin/bash
set -euo pipefail
. lib/onsite.sh
. lib/uninstall.sh
node=${ONSITE_OP_NODE:-}
if [ -z "$node" ] || keep_data; then exit 0; fi
# etcd that cannot be asked proves nothing: the check fails and the step runs
members=$(ETCDCTL_API=3 etcdctl --endpoints="http://$ONSITE_NODE_ADDRESS:$ONSITE_PORT_ETCD_CLIENT" member list)
names=$(awk -F', ' '{print $3}' <<< "$members")
if grep -qxF -- "$node" <<< "$names"; then exit 1; fi
