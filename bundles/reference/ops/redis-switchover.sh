#!/bin/bash
# onsite switchover FILE redis [--to NODE]: a planned move of the Redis
# primary to NODE, or without --to to the replica furthest along.
#
# The target must be a replica of the primary, its link up and its offset
# caught up. No acknowledged write is lost: the primary's writers are paused
# (CLIENT PAUSE WRITE: they wait, nothing is refused) until the target has
# everything, the target is promoted, and the old primary replicates it;
# the paused writes then fail there (READONLY) and clients retry on the new
# primary, as after any failover. Sentinel picks the replica to promote by
# replica-priority: for the move every other replica gets 0 (never) and the
# target 1, then SENTINEL FAILOVER; afterwards every node gets Redis'
# default (100) back, written to its file (CONFIG REWRITE, as Sentinel
# writes its own changes). Done when every sentinel names the target and
# every other node replicates it.
set -euo pipefail
. lib/onsite.sh
export REDISCLI_AUTH=$ONSITE_SECRET_REDIS_PASSWORD  # the environment, never argv
name=$(word components.sentinel.master_name "$ONSITE_SETTING_SENTINEL_MASTER_NAME")
rport=$ONSITE_PORT_REDIS_REDIS sport=$ONSITE_PORT_SENTINEL_SENTINEL
nodes=$(role_nodes redis)
to=$ONSITE_OP_TO
if [ -n "$to" ] && [[ " $nodes " != *" $to "* ]]; then
    die "--to $to is not a Redis node (Redis nodes: $nodes)"
fi
rcli() { local n=$1; shift; timeout 10 redis-cli --no-auth-warning -h "$(node_address "$n")" -p "$rport" "$@" | tr -d '\r'; }
scli() { local a=$1; shift; timeout 10 redis-cli --no-auth-warning -h "$a" -p "$sport" "$@" | tr -d '\r'; }
field() { rcli "$1" info replication | sed -n "s/^$2://p"; }
name_of() { local n; for n in $nodes; do [ "$(node_address "$n")" = "$1" ] && printf '%s' "$n"; done; return 0; }
primary_now() { name_of "$(scli 127.0.0.1 sentinel get-master-addr-by-name "$name" | head -n 1)"; }

primary=$(primary_now)
[ -n "$primary" ] || die "Sentinel names no primary for $name: fix the cluster first (onsite verify FILE)"
echo "primary now: $primary"
# in_sync NODE: a replica of the primary, link up, its offset at least the primary's a moment before
in_sync() {
    local want
    want=$(field "$primary" master_repl_offset)
    [ "$(field "$1" role)" = slave ] && [ "$(field "$1" master_link_status)" = up ] &&
        [ "$(field "$1" master_host)" = "$(node_address "$primary")" ] &&
        [ "$(field "$1" slave_repl_offset)" -ge "$want" ]
}
if [ -z "$to" ]; then
    best=-1
    for n in $nodes; do
        [ "$n" != "$primary" ] || continue
        [ "$(field "$n" master_link_status 2>/dev/null)" = up ] || continue
        off=$(field "$n" slave_repl_offset)
        if [ "$off" -gt "$best" ]; then best=$off to=$n; fi
    done
    [ -n "$to" ] || die "no replica has its link to $primary up: nowhere to move the primary to"
    echo "no --to: the replica furthest along is $to"
fi
# follows NODE: every sentinel names NODE, and every other node replicates it with its link up
follows() {
    local s n addr
    addr=$(node_address "$1")
    for s in $(role_addresses sentinel); do
        [ "$(scli "$s" sentinel get-master-addr-by-name "$name" | head -n 1)" = "$addr" ] || return 1
    done
    [ "$(field "$1" role)" = master ] || return 1
    for n in $nodes; do
        [ "$n" = "$1" ] && continue
        [ "$(field "$n" master_host)" = "$addr" ] && [ "$(field "$n" master_link_status)" = up ] || return 1
    done
}
if [ "$to" = "$primary" ]; then
    wait_for 60 "every replica following $to" follows "$to"
    echo "$to is the primary already and every replica follows it: nothing to move"
    exit 0
fi
wait_for 30 "$to a replica of $primary, in sync (the target must be healthy)" in_sync "$to"
echo "$to replicates $primary, link up, offset $(field "$to" slave_repl_offset)"

put_back() {
    local n
    rcli "$primary" client unpause > /dev/null || true
    for n in $nodes; do
        { rcli "$n" config set replica-priority 100 && rcli "$n" config rewrite; } > /dev/null ||
            echo "onsite: could not put replica-priority back to 100 on $n" >&2
    done
}
trap put_back EXIT
for n in $nodes; do
    [ "$n" = "$primary" ] && continue
    if [ "$n" = "$to" ]; then rcli "$n" config set replica-priority 1 > /dev/null
    else rcli "$n" config set replica-priority 0 > /dev/null; fi
done
# The pause ends by itself after 30 s whatever happens here.
[ "$(rcli "$primary" client pause 30000 write)" = OK ] || die "$primary refused CLIENT PAUSE"
caught_up() { [ "$(field "$to" slave_repl_offset)" -ge "$(field "$primary" master_repl_offset)" ]; }
wait_for 10 "$to holding every write of $primary" caught_up
echo "writes paused on $primary; $to has all of them (offset $(field "$to" slave_repl_offset))"
reply=$(scli 127.0.0.1 sentinel failover "$name")
[ "$reply" = OK ] || die "Sentinel refused the failover: $reply"
promoted() { [ "$(field "$to" role)" = master ]; }
wait_for 20 "$to promoted" promoted
rcli "$primary" replicaof "$(node_address "$to")" "$rport" > /dev/null
rcli "$primary" client unpause > /dev/null
echo "$to promoted; $primary replicates it, its writers resumed (they get READONLY and move on)"
wait_for 90 "every sentinel naming $to and every other node replicating it" follows "$to"
echo "switched over: $to is the primary; $(field "$to" connected_slaves) replicas follow it"
