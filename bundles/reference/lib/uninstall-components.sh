# shellcheck shell=bash
# What each component's uninstall step removes (ops/service-uninstall.sh and
# its check), by the step's id. SERVICES stop (lib/onsite.sh names), FILES
# are what onsite wrote for it, DATA is kept with --keep-data, ALWAYS goes
# even then (run-time folders, monitoring history).
# shellcheck disable=SC2034  # ops/service-uninstall.sh and its check use them
component_setup() {
    SERVICES=() FILES=() DATA=() ALWAYS=()
    case $ONSITE_STEP in
        node-exporter-uninstall)
            SERVICES=(vip-facts node-exporter)
            FILES=(/etc/default/prometheus-node-exporter /etc/onsite/vip-facts.conf /usr/local/lib/onsite/onsite-vip-facts.sh
                   /etc/systemd/system/onsite-vip-facts.service)
            ALWAYS=(/var/lib/prometheus/node-exporter/onsite_vip.prom /var/lib/prometheus/node-exporter/.onsite_vip.prom.tmp) ;;
        postgres-exporter-uninstall) SERVICES=(postgres-exporter) FILES=(/etc/default/prometheus-postgres-exporter) ;;
        redis-exporter-uninstall) SERVICES=(redis-exporter) FILES=(/etc/default/prometheus-redis-exporter) ;;
        prometheus-uninstall)
            SERVICES=(prometheus alertmanager)
            FILES=(/etc/prometheus/prometheus.yml /etc/prometheus/onsite-rules.yml /etc/default/prometheus
                   /etc/prometheus/alertmanager.yml /etc/default/prometheus-alertmanager)
            ALWAYS=(/var/lib/prometheus/metrics2 /var/lib/prometheus/alertmanager) ;;
        keepalived-uninstall)
            SERVICES=(keepalived)
            FILES=(/etc/keepalived/keepalived.conf /etc/keepalived/onsite-check-haproxy.sh
                   /etc/keepalived/onsite-check-service-health.sh /etc/keepalived/onsite-health.env) ;;
        haproxy-uninstall) SERVICES=(haproxy) FILES=(/etc/haproxy/haproxy.cfg) ;;
        radius-uninstall)
            SERVICES=(radius)
            FILES=(/etc/freeradius/3.0/mods-config/files/onsite)
            ALWAYS=(/run/freeradius) ;;
        socks5-uninstall) SERVICES=(socks5) FILES=(/etc/danted.conf) ;;
        sentinel-uninstall) SERVICES=(sentinel) FILES=(/etc/redis/sentinel.conf) ALWAYS=(/run/sentinel) ;;
        redis-uninstall) SERVICES=(redis) FILES=(/etc/redis/redis.conf) DATA=(/var/lib/redis) ALWAYS=(/run/redis) ;;
        patroni-uninstall)
            SERVICES=(patroni)
            FILES=(/etc/patroni/config.yml /var/lib/postgresql/.pgpass.patroni)
            DATA=(/var/lib/postgresql/15/main) ;;
        etcd-uninstall) SERVICES=(etcd) FILES=(/etc/etcd/etcd.conf.yml /etc/default/etcd) DATA=(/var/lib/etcd) ;;
        *) die "step $ONSITE_STEP is not a component's uninstall step" ;;
    esac
}

# After its services stopped, before its files and data go.
component_stopped() {
    local pg=/usr/lib/postgresql/15/bin/pg_ctl data=/var/lib/postgresql/15/main
    case $ONSITE_STEP in
        patroni-uninstall)  # a PostgreSQL still shutting down after Patroni (or left by a killed one) stops first
            if [ -f "$data/postmaster.pid" ] && [ -x "$pg" ] &&
                runuser -u postgres -- "$pg" -D "$data" status > /dev/null 2>&1; then
                runuser -u postgres -- "$pg" -D "$data" stop -m fast -w -t 120
            fi ;;
    esac
}

# After the common part: what a component needs beyond it.
component_after() {
    local a
    case $ONSITE_STEP in
        node-exporter-uninstall) if have_systemd; then systemctl daemon-reload; fi ;;
        keepalived-uninstall)  # keepalived drops its VIPs when it stops; an address left on the NIC goes too
            for a in $(plan_vip_addresses_here); do
                ip addr del "$a" dev "$ONSITE_NODE_NIC" && echo "removed VIP $a from $ONSITE_NODE_NIC"
            done ;;
        radius-uninstall)  # the include line onsite put into the package's authorize file
            a=/etc/freeradius/3.0/mods-config/files/authorize
            # shellcheck disable=SC2016  # a literal FreeRADIUS $INCLUDE line
            if [ -f "$a" ]; then sed -i '/^\$INCLUDE onsite$/d' "$a"; fi ;;
    esac
    if [ "${#ALWAYS[@]}" -gt 0 ]; then rm -rf -- "${ALWAYS[@]}"; fi
    true
}

# The check's extra part: passes when what component_after removes is gone.
component_gone() {
    case $ONSITE_STEP in
        keepalived-uninstall) [ -z "$(plan_vip_addresses_here)" ] ;;
        patroni-uninstall) port_free "$ONSITE_PORT_PATRONI_POSTGRES" && port_free "$ONSITE_PORT_PATRONI_REST" ;;
        etcd-uninstall) port_free "$ONSITE_PORT_ETCD_CLIENT" && port_free "$ONSITE_PORT_ETCD_PEER" ;;
        radius-uninstall) ! radius_included ;;
        *) true ;;
    esac
}

# port_free PORT: nothing listens on this TCP port here.
port_free() { [ -z "$(ss -Hltn "sport = :$1")" ]; }

# onsite's include line is in the package's authorize file.
radius_included() {
    # shellcheck disable=SC2016  # a literal FreeRADIUS $INCLUDE line
    grep -qx '\$INCLUDE onsite' /etc/freeradius/3.0/mods-config/files/authorize 2>/dev/null
}

# The plan's VIP addresses on this node's NIC, as ADDRESS/PREFIX.
plan_vip_addresses_here() {
    local v var addr
    for v in $ONSITE_VIPS; do
        var="ONSITE_VIP_$(upper "$v")_ADDRESS"
        addr=${!var}
        ip -o -4 addr show dev "$ONSITE_NODE_NIC" | awk -v a="$addr" '{split($4, x, "/"); if (x[1] == a) print $4}'
    done
}
