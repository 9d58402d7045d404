# shellcheck shell=bash
# Which Debian packages each role needs (apt adds their dependencies).

wanted_packages() {
    local -A want=()
    local p
    has_role etcd && want[etcd-server]=1 && want[etcd-client]=1
    has_role postgres && want[postgresql-15]=1 && want[patroni]=1
    has_role redis && want[redis-server]=1 && want[redis-tools]=1
    has_role sentinel && want[redis-sentinel]=1 && want[redis-tools]=1
    if has_role radius || has_role escape; then
        want[freeradius]=1 && want[freeradius-utils]=1 && want[keepalived]=1
    fi
    has_role socks5 && want[dante-server]=1
    has_role k8s-master && want[haproxy]=1 && want[keepalived]=1
    # Monitoring: node-exporter everywhere, the exporters where their
    # service runs, Prometheus + Alertmanager on the monitoring node (python3:
    # its verify check reads Prometheus' JSON API). Components the plan marks
    # external are not installed.
    if ! is_external node-exporter; then want[prometheus-node-exporter]=1; fi
    if has_role postgres && ! is_external postgres-exporter; then want[prometheus-postgres-exporter]=1; fi
    if { has_role redis || has_role sentinel; } && ! is_external redis-exporter; then want[prometheus-redis-exporter]=1; fi
    if has_role monitoring && ! is_external prometheus; then
        want[prometheus]=1 && want[prometheus-alertmanager]=1 && want[python3]=1
    fi
    for p in "${!want[@]}"; do echo "$p"; done | sort
}

# The packages installed on the node now, one name a line, sorted.
installed_packages() {
    dpkg-query -W -f '${db:Status-Status} ${Package}\n' | awk '$1 == "installed" {print $2}' | LC_ALL=C sort -u
}
