# shellcheck shell=bash
# Helpers for the reference bundle's step scripts (sourced, never run).
#
# Services: on a node booted with systemd the packages' own units are used
# (systemctl enable + start). Without systemd (containers, the onsite lab)
# a service runs as its own session leader with a pid file in
# /run/onsite/svc and a log in /var/log/onsite/<name>.log; the command lines
# below mirror the Debian units' ExecStart.
#
# Files: put_file writes a rendered file only when its content changed and
# says so; a step's check uses file_current. Files the service itself
# rewrites at run time (Sentinel's state, Redis after a failover) are
# "seeded": written once per rendered content, then left to the service.

STATE_DIR=/var/lib/onsite/state
SVC_RUN=/run/onsite/svc
SVC_LOG=/var/log/onsite

upper() { printf '%s' "$1" | tr 'a-z.-' 'A-Z__'; }

has_role() {
    local r
    for r in $ONSITE_NODE_ROLES; do [ "$r" = "$1" ] && return 0; done
    return 1
}

is_external() { case " $ONSITE_EXTERNAL " in *" $1 "*) return 0 ;; esac; return 1; }

node_address() { local v; v="ONSITE_NODE_$(upper "$1")_ADDRESS"; printf '%s' "${!v}"; }
role_nodes() { local v; v="ONSITE_ROLE_$(upper "$1")_NODES"; printf '%s' "${!v}"; }
role_addresses() { local v; v="ONSITE_ROLE_$(upper "$1")_ADDRESSES"; printf '%s' "${!v}"; }
# shellcheck disable=SC2086  # splitting a word list is the point
first_of() { set -- $1; printf '%s' "${1:-}"; }
# shellcheck disable=SC2086
count_of() { set -- $1; printf '%s' "$#"; }

# join SEP WORD... -> WORD1SEPWORD2...
join() { local sep=$1 out="" w; shift; for w in "$@"; do out+="${out:+$sep}$w"; done; printf '%s' "$out"; }

# Quoting for the files values land in (a secret may hold any character).
yaml_str() { local q="'"; printf "'%s'" "${1//$q/$q$q}"; }
_dq() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }
redis_str() { _dq "$1"; }
radius_str() { _dq "$1"; }

# The password of the RADIUS probe user: derived from the shared secret, so
# it needs no secret of its own and cannot be guessed without it.
probe_password() { printf 'onsite-probe:%s' "$ONSITE_SECRET_RADIUS_SHARED_SECRET" | sha256sum | cut -c1-24; }

die() { echo "onsite: $*" >&2; exit 1; }

# A value for a file that both bash and systemd's EnvironmentFile read:
# double quotes, with \ " $ ` escaped (a secret may hold any character).
env_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; s=${s//\$/\\\$}; printf '"%s"' "${s//\`/\\\`}"; }

# need_int NAME VALUE / need_duration NAME VALUE: a setting that lands in a
# configuration file or a command line is what it claims to be.
need_int() { [[ $2 =~ ^[0-9]+$ ]] || die "setting $1 must be a whole number, not '$2'"; }
need_duration() { [[ $2 =~ ^[0-9]+[smhdwy]$ ]] || die "setting $1 must be a duration like 15d, not '$2'"; }

# http_get ADDRESS PORT PATH: the body of an HTTP GET (bash's /dev/tcp: the
# nodes need no curl). Fails when nothing answers within 5 s.
http_get() {
    # shellcheck disable=SC2016  # $1.. belong to the inner shell
    timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$3" "$1" >&3 && cat <&3' \
        onsite-http "$1" "$2" "$3" | sed '1,/^\r\{0,1\}$/d'
}

# http_has ADDRESS PORT PATH LINE-REGEX: a line of the body matches. The body
# is read whole first: `http_get | grep -q` fails under pipefail when grep
# stops reading early (SIGPIPE), which made a check fail at random.
http_has() {
    local body
    body=$(http_get "$1" "$2" "$3") || return 1
    grep -qx -- "$4" <<< "$body"
}

# -- files --------------------------------------------------------------------

_mark() { printf '%s/files/%s' "$STATE_DIR" "$(printf '%s' "$1" | tr '/' '%')"; }

# put_file DEST MODE OWNER < content. Exit 0: written (changed); 1: unchanged.
put_file() {
    local dest=$1 mode=$2 owner=$3 tmp
    mkdir -p "$(dirname "$dest")" "$STATE_DIR/files"
    chmod 0700 "$STATE_DIR"
    tmp=$(mktemp "$dest.onsite.XXXXXX")
    cat > "$tmp"
    if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
        rm -f "$tmp"
        return 1
    fi
    chmod "$mode" "$tmp"
    chown "$owner" "$tmp"
    mv -f "$tmp" "$dest"
    echo "wrote $dest"
    return 0
}

# seed_file DEST MODE OWNER < content: like put_file, but compares with the
# content onsite last wrote, not with the file (which the service may rewrite).
seed_file() {
    local dest=$1 mode=$2 owner=$3 sum mark
    mkdir -p "$(dirname "$dest")" "$STATE_DIR/files"
    chmod 0700 "$STATE_DIR"
    local tmp
    tmp=$(mktemp "$dest.onsite.XXXXXX")
    cat > "$tmp"
    sum=$(sha256sum < "$tmp" | cut -d' ' -f1)
    mark=$(_mark "$dest")
    if [ -f "$dest" ] && [ -f "$mark" ] && [ "$(cat "$mark")" = "$sum" ]; then
        rm -f "$tmp"
        return 1
    fi
    chmod "$mode" "$tmp"
    chown "$owner" "$tmp"
    mv -f "$tmp" "$dest"
    echo "$sum" > "$mark"
    echo "wrote $dest"
    return 0
}

# file_current DEST [seed] < content: is DEST what put_file/seed_file would leave?
file_current() {
    local dest=$1 how=${2:-put} sum
    [ -f "$dest" ] || { cat > /dev/null; return 1; }
    if [ "$how" = seed ]; then
        sum=$(sha256sum | cut -d' ' -f1)
        [ -f "$(_mark "$dest")" ] && [ "$(cat "$(_mark "$dest")")" = "$sum" ]
    else
        cmp -s - "$dest"
    fi
}

# -- services -----------------------------------------------------------------

have_systemd() { [ -d /run/systemd/system ]; }

# The Debian unit of each service onsite manages.
svc_unit() {
    case $1 in
        etcd) echo etcd ;;
        patroni) echo patroni ;;
        redis) echo redis-server ;;
        sentinel) echo redis-sentinel ;;
        radius) echo freeradius ;;
        socks5) echo danted ;;
        haproxy) echo haproxy ;;
        keepalived) echo keepalived ;;
        node-exporter) echo prometheus-node-exporter ;;
        postgres-exporter) echo prometheus-postgres-exporter ;;
        redis-exporter) echo prometheus-redis-exporter ;;
        prometheus) echo prometheus ;;
        alertmanager) echo prometheus-alertmanager ;;
        vip-facts) echo onsite-vip-facts ;;  # onsite's own unit (steps/node-exporter.sh)
        *) die "unknown service $1" ;;
    esac
}

# The Prometheus packages' units read their command line ($ARGS) and
# environment from /etc/default/<unit>; without systemd the same file is
# read the same way (as root), then the program runs as the unit's user.
_svc_default() {
    # shellcheck disable=SC2016  # $1.. and $ARGS belong to the inner shell
    SVC_CMD=(bash -c 'set -a; . "$1"; set +a; exec runuser -u prometheus -- "$2" $ARGS' onsite-svc
             "/etc/default/$1" "/usr/bin/$1")
}

# Sets SVC_CMD to the service's command line (no systemd); makes its run dir.
_svc_command() {
    case $1 in
        etcd) SVC_CMD=(runuser -u etcd -- /usr/bin/etcd --config-file /etc/etcd/etcd.conf.yml) ;;
        patroni)
            install -d -o postgres -g postgres -m 2775 /run/postgresql
            SVC_CMD=(runuser -u postgres -- /usr/bin/patroni /etc/patroni/config.yml) ;;
        redis)
            install -d -o redis -g redis -m 2755 /run/redis
            SVC_CMD=(runuser -u redis -- /usr/bin/redis-server /etc/redis/redis.conf --daemonize no) ;;
        sentinel)
            install -d -o redis -g redis -m 2755 /run/sentinel
            SVC_CMD=(runuser -u redis -- /usr/bin/redis-sentinel /etc/redis/sentinel.conf --daemonize no) ;;
        radius)
            install -d -o freerad -g freerad -m 0755 /run/freeradius
            SVC_CMD=(/usr/sbin/freeradius -f) ;;
        socks5) SVC_CMD=(/usr/sbin/danted -f /etc/danted.conf) ;;
        haproxy) SVC_CMD=(/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg) ;;
        keepalived) SVC_CMD=(/usr/sbin/keepalived --dont-fork --log-console -f /etc/keepalived/keepalived.conf) ;;
        node-exporter | postgres-exporter | redis-exporter | prometheus | alertmanager) _svc_default "$(svc_unit "$1")" ;;
        vip-facts) SVC_CMD=(/bin/bash /usr/local/lib/onsite/onsite-vip-facts.sh /etc/onsite/vip-facts.conf) ;;
        *) die "unknown service $1" ;;
    esac
}

svc_running() {
    local name=$1 pid
    if have_systemd; then systemctl is-active -q "$(svc_unit "$name")"; return; fi
    [ -f "$SVC_RUN/$name.pid" ] || return 1
    pid=$(cat "$SVC_RUN/$name.pid")
    [ -n "$pid" ] && [ -d "/proc/$pid" ] && [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

svc_start() {
    local name=$1 i
    if have_systemd; then
        systemctl enable -q "$(svc_unit "$name")"
        systemctl start "$(svc_unit "$name")"
        return
    fi
    svc_running "$name" && return 0
    _svc_command "$name"
    mkdir -p "$SVC_RUN" "$SVC_LOG"
    rm -f "$SVC_RUN/$name.pid"
    # A clean environment (env -i): the daemon inherits none of the step's
    # variables, its secrets least of all; it reads what it needs from its
    # configuration files, as under systemd.
    # shellcheck disable=SC2016  # $1 and $@ belong to the inner shell
    setsid env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
        bash -c 'echo $$ > "$1"; shift; exec "$@"' onsite-svc "$SVC_RUN/$name.pid" "${SVC_CMD[@]}" \
        < /dev/null >> "$SVC_LOG/$name.log" 2>&1 &
    for i in $(seq 50); do
        [ -s "$SVC_RUN/$name.pid" ] && break
        sleep 0.1
    done
    sleep 1
    svc_running "$name" || { tail -n 20 "$SVC_LOG/$name.log" >&2; die "$name did not stay up (log: $SVC_LOG/$name.log)"; }
    echo "started $name"
}

svc_stop() {
    local name=$1 pid i
    if have_systemd; then systemctl stop "$(svc_unit "$name")"; return; fi
    svc_running "$name" || return 0
    pid=$(cat "$SVC_RUN/$name.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 300); do
        [ -d "/proc/$pid" ] || break
        sleep 0.1
    done
    if [ -d "/proc/$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    rm -f "$SVC_RUN/$name.pid"
    echo "stopped $name"
}

svc_restart() { svc_stop "$1"; svc_start "$1"; }

# svc_reload NAME: running -> restart (or reload where the unit can), else start.
svc_apply() {
    if svc_running "$1"; then svc_restart "$1"; else svc_start "$1"; fi
}

# wait_for SECONDS WHAT COMMAND...: retry COMMAND each second until it passes.
wait_for() {
    local limit=$1 what=$2 i
    shift 2
    for ((i = 0; i < limit; i++)); do
        if "$@" > /dev/null 2>&1; then return 0; fi
        sleep 1
    done
    die "$what: not ready after ${limit}s"
}
