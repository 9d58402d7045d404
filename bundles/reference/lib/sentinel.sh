# shellcheck shell=bash
# Redis Sentinel, asked the same way by the install's step and check, the
# node replace's reset sweep and its checks.

# sentinel_at ADDRESS ARGS...: one Sentinel command; the password goes in
# the environment, never in argv.
sentinel_at() {
    REDISCLI_AUTH=$ONSITE_SECRET_REDIS_PASSWORD redis-cli --no-auth-warning -h "$1" \
        -p "$ONSITE_PORT_SENTINEL_SENTINEL" "${@:2}"
}

# What the plan says Sentinel must see: every redis node but the primary as
# a replica, every sentinel node.
sentinel_replicas() { echo $(($(count_of "$(role_nodes redis)") - 1)); }
sentinel_count() { count_of "$(role_nodes sentinel)"; }

# sentinel_ready: this node's Sentinel has quorum and sees the primary,
# every replica and every other sentinel.
# (Answers are read whole before grep: `cmd | grep -q` fails at random under pipefail.)
sentinel_ready() {
    local name=$ONSITE_SETTING_SENTINEL_MASTER_NAME said
    said=$(sentinel_at 127.0.0.1 sentinel ckquorum "$name") && grep -q '^OK' <<< "$said" &&
        said=$(sentinel_at 127.0.0.1 info sentinel) &&
        grep -q "name=$name,status=ok,.*,slaves=$(sentinel_replicas),sentinels=$(sentinel_count)" <<< "$said"
}
