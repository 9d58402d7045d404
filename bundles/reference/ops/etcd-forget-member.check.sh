#!/bin/bash
set -euo pipefail
. lib/onsite.sh
. lib/uninstall.sh
node=${ONSITE_OP_NODE:-}
if [ -z "$node" ] || keep_data; then exit 0; fi
! ETCDCTL_API=3 etcdctl --endpoints="http://$ONSITE_NODE_ADDRESS:$ONSITE_PORT_ETCD_CLIENT" member list |
    awk -F', ' '{print $3}' | grep -qxF -- "$node"
