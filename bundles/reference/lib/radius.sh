# shellcheck shell=bash
# radius_probe ADDRESS: an Access-Request for the probe user is accepted.
# The shared secret goes to radclient in a 0600 file (-S), never in argv.
radius_probe() {
    local f rc=0
    f=$(mktemp)
    printf '%s\n' "$ONSITE_SECRET_RADIUS_SHARED_SECRET" > "$f"
    printf 'User-Name = "onsite-probe"\nUser-Password = "%s"\n' "$(probe_password)" |
        radclient -q -r 1 -t 2 -S "$f" "$1:$ONSITE_PORT_RADIUS_AUTH" auth || rc=$?
    rm -f "$f"
    return "$rc"
}
