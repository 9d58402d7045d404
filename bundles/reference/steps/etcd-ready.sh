#!/bin/bash
# The etcd cluster answers on every member, with all members in it.
set -euo pipefail
. lib/onsite.sh
eps=()
for a in $(role_addresses etcd); do eps+=("http://$a:$ONSITE_PORT_ETCD_CLIENT"); done
want=$(count_of "$(role_nodes etcd)")
healthy() {
    ETCDCTL_API=3 etcdctl --endpoints="$(join , "${eps[@]}")" endpoint health &&
    [ "$(ETCDCTL_API=3 etcdctl --endpoints="${eps[0]}" member list | grep -c ', started, ')" = "$want" ]
}
wait_for 120 "etcd cluster (${eps[*]})" healthy
ETCDCTL_API=3 etcdctl --endpoints="$(join , "${eps[@]}")" endpoint status -w table
