# shellcheck shell=bash
# etcd, asked the same way by the install's step and check and by verify.

# Every member's client URL, comma-separated, in the plan's order.
etcd_endpoints() {
    local a eps=()
    for a in $(role_addresses etcd); do eps+=("http://$a:$ONSITE_PORT_ETCD_CLIENT"); done
    join , "${eps[@]}"
}

# etcdctl ARGS...: asked of every member.
etcd_all() { ETCDCTL_API=3 etcdctl --endpoints="$(etcd_endpoints)" "$@"; }

# etcd_healthy: every member answers healthy, and the cluster has as many
# started members as the plan has etcd nodes.
etcd_healthy() {
    local first
    first=$(etcd_endpoints)
    first=${first%%,*}
    etcd_all endpoint health &&
        [ "$(ETCDCTL_API=3 etcdctl --endpoints="$first" member list | grep -c ', started, ')" = "$(count_of "$(role_nodes etcd)")" ]
}
