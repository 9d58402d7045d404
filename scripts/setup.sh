#!/usr/bin/env bash
# Set up a fresh Debian 12 machine to run onsite from this checkout and its
# tests: system packages for the lab (OpenSSH server, iproute2, ...),
# then a virtual environment in .venv with onsite and its test tools, at the
# versions in constraints.txt (the wizard snapshots depend on Textual's).
# Safe to run again. Needs root (apt-get): as a user it runs itself again
# through sudo; as root it needs no sudo (a fresh Debian 12 has none).
set -euo pipefail
# shellcheck source=scripts/as-root.sh
. "$(dirname "$0")/as-root.sh"
cd "$(dirname "$0")/.."

packages=(python3 python3-venv openssh-server openssh-client iproute2 util-linux procps sudo tmux zsh dpkg-dev shellcheck
          postgresql-client)  # the day-2 tests' client writes to the lab's PostgreSQL from this machine
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The host's own sshd is not needed; the lab runs its own inside each node.
# The lab nodes get keepalived, etcd, PostgreSQL, ... from the reference
# bundle, which `onsite bundle add-debs` fills through apt: its package
# lists must be current (a day old at most).
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
    echo "setup: apt-get update (package lists older than a day)"
    apt-get update -qq
fi

# pip's output goes to a log; a failure shows it and stops the setup.
quiet() {
    local log
    log=$(mktemp)
    if ! "$@" >"$log" 2>&1; then
        grep -v '^WARNING: Location' "$log" >&2 || true
        rm -f "$log"
        echo "setup: failed: $*" >&2
        exit 1
    fi
    rm -f "$log"
}

py=/usr/bin/python3
if [ ! -x .venv/bin/python ]; then
    "$py" -m venv .venv
fi
quiet .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip
quiet .venv/bin/python -m pip install --disable-pip-version-check -c constraints.txt -e '.[test]'
# promtool and amtool (the tests check the rendered Prometheus and
# Alertmanager files with them) come unpacked from Debian's packages, not
# installed: installing them would start a Prometheus on this machine.
if [ ! -x .venv/bin/promtool ] || [ ! -x .venv/bin/amtool ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -q prometheus prometheus-alertmanager >/dev/null 2>&1) ||
        { rm -rf "$tmp"; echo "setup: apt-get download prometheus prometheus-alertmanager failed" >&2; exit 1; }
    for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/x"; done
    install -m 0755 "$tmp/x/usr/bin/promtool" "$tmp/x/usr/bin/amtool" .venv/bin/
    rm -rf "$tmp"
fi
.venv/bin/onsite --version >/dev/null
echo "setup: ready (.venv/bin/onsite)"
