# shellcheck shell=bash
# Helpers for the `onsite uninstall` scripts (ops/*-uninstall.sh), sourced
# after lib/onsite.sh. Every script copes with "never installed here": a
# service that does not run, a file or folder that is not there, a record
# that was never written (an install that failed halfway).

keep_data() { [ "${ONSITE_OP_KEEP_DATA:-false}" = true ]; }

# remove_service NAME: stop it (its pid file or systemd unit), disable the
# unit, and remove its onsite log.
remove_service() {
    local name=$1 unit
    if have_systemd; then
        unit=$(svc_unit "$name")
        systemctl disable --now -q "$unit" 2>/dev/null || true
    else
        svc_stop "$name"
    fi
    rm -f "$SVC_RUN/$name.pid" "$SVC_LOG/$name.log"
}

# remove_files PATH...: files or folders onsite wrote, and their records.
remove_files() {
    local p
    for p do
        if [ -e "$p" ] || [ -L "$p" ]; then rm -rf -- "$p"; echo "removed $p"; fi
        rm -f -- "$(_mark "$p")"
    done
}

# remove_data DIR...: a component's data, unless --keep-data keeps it.
remove_data() {
    local d
    for d do
        [ -e "$d" ] || continue
        if keep_data; then echo "kept $d (--keep-data)"; else rm -rf -- "$d"; echo "removed $d"; fi
    done
}

# gone_data DIR...: the check's half of remove_data.
gone_data() {
    local d
    keep_data && return 0
    for d do [ ! -e "$d" ] || return 1; done
}

# DATA_DIRS: what --keep-data keeps (the profile's data_paths say the same,
# for the leftover check). ops/system-uninstall.sh moves them aside while
# the packages are purged (etcd-server and redis-tools delete theirs).
# shellcheck disable=SC2034  # ops/system-uninstall.sh uses it
DATA_DIRS=(/var/lib/etcd /var/lib/postgresql/15/main /var/lib/redis)
