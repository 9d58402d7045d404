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

# -- values into configuration files ------------------------------------------
# Every value from the plan is quoted for the file it lands in (a secret may
# hold any character). Each helper takes the value's field in the answer file
# (named in the message) and the value, and prints the quoted value; a value
# the format cannot hold stops the render script with a message naming the
# field. Call them in an assignment, x=$(yaml_str FIELD "$V): under set -e a
# failing assignment stops the script, a failing substitution inside a
# here-document would not.

# refuse FIELD WHY: stop the render script, naming the field.
refuse() { die "${0##*/}: $1 $2"; }

# one_line FIELD VALUE: VALUE, unless it holds a line break or another
# control character (C0, DEL, C1), which no file written here can hold.
one_line() {
    local LC_ALL=C.UTF-8 bad=$'[\x01-\x1f\x7f\xc2\x80-\xc2\x9f]'  # C1 as UTF-8 bytes
    if [[ $2 == *$bad* ]]; then
        refuse "$1" "holds a line break or another control character, which a configuration file cannot hold: use one line of plain text"
    fi
    printf '%s' "$2"
}

# YAML, single-quoted: nothing is special inside but the quote, doubled.
yaml_str() {
    local v q="'"
    v=$(one_line "$1" "$2") || exit 1
    printf "'%s'" "${v//$q/$q$q}"
}

# Redis and Sentinel (sdssplitargs), double-quoted: \ and " escaped.
redis_str() {
    local v
    v=$(one_line "$1" "$2") || exit 1
    v=${v//\\/\\\\}
    printf '"%s"' "${v//\"/\\\"}"
}

# FreeRADIUS, single-quoted: ' written as \'. Not double-quoted: FreeRADIUS
# expands ${...} there, even after a backslash. FreeRADIUS 3.2 keeps every
# other backslash as it is (\\ stays two: measured with 3.2.1), so a quote or
# the end of the value right after an odd run of backslashes cannot be written.
radius_str() {
    local v q="'" re='(^|[^\])(\\\\)*\\('"'"'|$)'
    v=$(one_line "$1" "$2") || exit 1
    if [[ $v =~ $re ]]; then
        refuse "$1" "has a backslash right before a quote or at its end, which FreeRADIUS cannot read back: move or double that backslash"
    fi
    radclient_secret "$1" "$v" > /dev/null || exit 1
    printf "'%s'" "${v//$q/\\$q}"
}

# radclient_secret FIELD VALUE: VALUE, unless radclient (the probe and the
# service VIP's health check) would read it wrongly from its -S file: it
# cuts every byte below a blank off the end of the line, and on x86 a
# non-ASCII byte counts as one (a signed char; measured with 3.2.1).
radclient_secret() {
    local LC_ALL=C
    if [[ ${2: -1} == [$'\x80'-$'\xff'] ]]; then
        refuse "$1" "ends with a non-ASCII character, which radclient (the RADIUS health checks) cuts off: end it with a plain character"
    fi
    printf '%s' "$2"
}

# A Java properties value (java.util.Properties.load): \ = : # ! escaped, a
# leading blank escaped (load would drop it), everything outside printable
# ASCII as \uXXXX (load reads a stream as ISO-8859-1).
prop_str() {
    local LC_ALL=C.UTF-8 v c out="" i n
    v=$(one_line "$1" "$2") || exit 1
    for ((i = 0; i < ${#v}; i++)); do
        c=${v:i:1}
        case $c in
            [\\=:#!]) out+="\\$c" ;;
            " ") if [ "$i" = 0 ]; then out+="\\ "; else out+=" "; fi ;;
            [[:alnum:][:punct:]]) printf -v n '%d' "'$c"
                if [ "$n" -lt 128 ]; then out+=$c; else out+=$(_uesc "$n"); fi ;;
            *) printf -v n '%d' "'$c"; out+=$(_uesc "$n") ;;
        esac
    done
    printf '%s' "$out"
}
# _uesc CODEPOINT: \uXXXX, a surrogate pair above U+FFFF.
_uesc() {
    local n=$1
    if [ "$n" -gt 65535 ]; then
        n=$((n - 65536))
        printf '\\u%04X\\u%04X' $((0xD800 + (n >> 10))) $((0xDC00 + (n & 0x3FF)))
    else
        printf '\\u%04X' "$n"
    fi
}

# number FIELD VALUE / flag FIELD VALUE: a whole number / true or false (the
# validator's types, checked again where they land unquoted).
number() { [[ $2 =~ ^-?[0-9]+$ ]] || refuse "$1" "$(printf '%q' "$2") is not a whole number"; printf '%s' "$2"; }
flag() { [[ $2 =~ ^(true|false)$ ]] || refuse "$1" "$(printf '%q' "$2") is not true or false"; printf '%s' "$2"; }

# word FIELD VALUE: VALUE when it is letters, digits, '_', '.' and '-' only:
# for names other programs write back or match unquoted (Sentinel's master
# name, MongoDB's replica set).
word() {
    [[ $2 =~ ^[A-Za-z0-9_.-]+$ ]] || refuse "$1" "$(printf '%q' "$2") is not a plain name: use letters, digits, '_', '.' and '-'"
    printf '%s' "$2"
}

# conf_path FIELD VALUE: an absolute path of letters, digits and '_' '.' '-'
# '/' '+' '@' only: for files that take paths unquoted (Doris reads its
# configuration without quoting, splits paths at ';' and ',' and expands ${}).
conf_path() {
    [[ $2 =~ ^/[A-Za-z0-9_./+@-]*$ ]] || refuse "$1" "$(printf '%q' "$2") is not a plain absolute path: use letters, digits and '_' '.' '-' '/' '+' '@'"
    printf '%s' "$2"
}

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

# _written DEST: the record of every file onsite writes ($STATE_DIR/written,
# one path a line), which `onsite uninstall` removes (ops/system-uninstall.sh);
# a file that was there before onsite first wrote it is kept beside the
# record ($STATE_DIR/orig/) and put back if its package stays.
_written() {
    local orig
    mkdir -p "$STATE_DIR/orig"
    grep -qxF -- "$1" "$STATE_DIR/written" 2>/dev/null && return 0
    orig="$STATE_DIR/orig/$(printf '%s' "$1" | tr '/' '%')"
    if [ -f "$1" ] && [ ! -e "$orig" ]; then cp -p -- "$1" "$orig"; fi
    printf '%s\n' "$1" >> "$STATE_DIR/written"
}

# put_file DEST MODE OWNER < content. Exit 0: written (changed); 1: unchanged.
put_file() {
    local dest=$1 mode=$2 owner=$3 tmp
    mkdir -p "$(dirname "$dest")" "$STATE_DIR/files"
    chmod 0700 "$STATE_DIR"
    _written "$dest"
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
    _written "$dest"
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

# svc_reload NAME: the running service reads its configuration again in
# place (SIGHUP; keepalived keeps its VRRP state and its VIPs); not running:
# started.
svc_reload() {
    local name=$1
    if have_systemd; then systemctl reload-or-restart "$(svc_unit "$name")"; return; fi
    svc_running "$name" || { svc_start "$name"; return; }
    kill -HUP "$(cat "$SVC_RUN/$name.pid")"
    sleep 1
    svc_running "$name" || { tail -n 20 "$SVC_LOG/$name.log" >&2; die "$name stopped on reload (log: $SVC_LOG/$name.log)"; }
    echo "reloaded $name"
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
