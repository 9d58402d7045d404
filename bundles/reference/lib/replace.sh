# shellcheck shell=bash
# Helpers for `onsite node replace` (ops/*-replace*.sh and the install steps
# that rejoin a replaced node). Sourced after lib/onsite.sh.

# Is this run the install of a node being replaced (ONSITE_OP_NODE), on it?
replacing_here() { [ "${ONSITE_OP:-}" = replace ] && [ "${ONSITE_OP_NODE:-}" = "$ONSITE_NODE" ]; }

# Does the node being replaced hold ROLE in the plan?
target_has_role() {
    local n
    for n in $(role_nodes "$1"); do [ "$n" = "$ONSITE_OP_NODE" ] && return 0; done
    return 1
}

# -- etcd ---------------------------------------------------------------------
etcd_local() { ETCDCTL_API=3 etcdctl --endpoints="http://127.0.0.1:$ONSITE_PORT_ETCD_CLIENT" --command-timeout=5s "$@"; }
# A member that answers (endpoint status needs no quorum, unlike endpoint
# health: a survivor of a cluster without quorum still counts as up).
etcd_up_at() { ETCDCTL_API=3 etcdctl --endpoints="$1" --command-timeout=3s endpoint status > /dev/null 2>&1; }

# -- Redis Sentinel -----------------------------------------------------------
. lib/sentinel.sh  # sentinel_at

# The primary ("ADDRESS PORT") the surviving sentinels name now; empty
# outside the install of a replaced node. The plan's first redis node may
# be a replica since a failover: the new node follows the real primary.
current_redis_primary() {
    local a out
    replacing_here || return 0
    for a in $(role_addresses sentinel); do
        [ "$a" = "$ONSITE_NODE_ADDRESS" ] && continue
        out=$(sentinel_at "$a" sentinel get-master-addr-by-name "$ONSITE_SETTING_SENTINEL_MASTER_NAME" 2> /dev/null | tr '\n' ' ') || continue
        if [ "$(count_of "$out")" = 2 ]; then
            printf '%s' "$out"
            return 0
        fi
    done
    die "no surviving sentinel names the Redis primary: check Sentinel on $(role_nodes sentinel)"
}

# point_redis FILE: a replaced node's redis.conf replicates the current
# primary (the file is the service's to rewrite, as after a failover; the
# seed mark stays the plan's rendering).
point_redis() {
    local p addr port tmp
    p=$(current_redis_primary)
    [ -n "$p" ] || return 0
    read -r addr port <<< "$p"
    [ "$addr" != "$ONSITE_NODE_ADDRESS" ] || die "Sentinel names this new, empty node the Redis primary: stop and check Sentinel"
    tmp=$(mktemp "$1.onsite.XXXXXX")
    grep -v '^replicaof ' "$1" > "$tmp" || true
    echo "replicaof $addr $port" >> "$tmp"
    chown --reference="$1" "$tmp"
    chmod --reference="$1" "$tmp"
    mv -f "$tmp" "$1"
    echo "redis: replica of the current primary $addr:$port"
}

# point_sentinel FILE: a replaced node's Sentinel monitors the current primary.
point_sentinel() {
    local p addr port tmp
    p=$(current_redis_primary)
    [ -n "$p" ] || return 0
    read -r addr port <<< "$p"
    tmp=$(mktemp "$1.onsite.XXXXXX")
    awk -v name="$ONSITE_SETTING_SENTINEL_MASTER_NAME" -v addr="$addr" -v port="$port" \
        '$1 == "sentinel" && $2 == "monitor" && $3 == name { $4 = addr; $5 = port } { print }' "$1" > "$tmp"
    chown --reference="$1" "$tmp"
    chmod --reference="$1" "$tmp"
    mv -f "$tmp" "$1"
    echo "sentinel: monitors the current primary $addr:$port"
}
