#!/bin/bash
# Install the Debian packages this node's roles need, from the bundle's own
# package folder (debs/, an apt "flat" repository): the node needs no other
# package source. apt works on a private list folder, so the node's own
# sources and lists are left alone. Services do not start during the install
# (policy-rc.d); later steps configure and start them.
set -euo pipefail
. lib/onsite.sh
. lib/packages.sh
. lib/uninstall.sh  # DATA_DIRS
mapfile -t wanted < <(wanted_packages)
if [ "${#wanted[@]}" -eq 0 ]; then echo "no packages for roles: $ONSITE_NODE_ROLES"; exit 0; fi
[ -f debs/Packages ] || die "this bundle has no debs/Packages: build it with onsite bundle add-debs"
state=/var/lib/onsite/apt
mkdir -p "$state/lists/partial" "$state/archives/partial"
echo "deb [trusted=yes] file:$PWD/debs ./" > "$state/sources.list"
opts=(-o "Dir::Etc::SourceList=$state/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
      -o "Dir::State::Lists=$state/lists" -o "Dir::Cache::Archives=$state/archives"
      -o "APT::Get::List-Cleanup=0" -o "Acquire::Languages=none" -o "APT::Install-Recommends=0"
      -o "Dpkg::Options::=--force-confdef" -o "Dpkg::Options::=--force-confold")
# The bundle's packages were verified by sha256 when pushed; apt sees a
# local, unsigned folder ([trusted=yes]).
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# onsite: no service starts while packages install\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# What the node had before onsite's first install, for `onsite uninstall`
# (ops/system-uninstall.sh): it removes the packages, users and groups the
# install added, and only those. What each run of this step adds is
# recorded as it happens (packages, users.created, groups.created): a user
# or a package the customer adds between two installs is never counted.
mkdir -p "$STATE_DIR"
chmod 0700 "$STATE_DIR"
if [ ! -f "$STATE_DIR/packages.before" ]; then
    installed_packages > "$STATE_DIR/packages.before.tmp"
    # Owners of data an `uninstall --keep-data` kept were made by an earlier
    # install: not the node's own (ops/system-uninstall.sh names them).
    created=$(cat "${DATA_DIRS[@]/%//.onsite-created-owner}" 2> /dev/null || true)
    getent passwd | cut -d: -f1 | grep -vxF -f <(sed -n 's/^user //p' <<< "$created") | LC_ALL=C sort > "$STATE_DIR/users.before" || true
    getent group | cut -d: -f1 | grep -vxF -f <(sed -n 's/^group //p' <<< "$created") | LC_ALL=C sort > "$STATE_DIR/groups.before" || true
    if [ ! -e /etc/ssl/certs/ssl-cert-snakeoil.pem ]; then touch "$STATE_DIR/snakeoil.none"; fi
    mv "$STATE_DIR/packages.before.tmp" "$STATE_DIR/packages.before"
fi
rm -f -- "${DATA_DIRS[@]/%//.onsite-created-owner}"
# PostgreSQL's clusters are Patroni's to create.
mkdir -p /etc/postgresql-common
if ! grep -qx 'create_main_cluster = false' /etc/postgresql-common/createcluster.conf 2>/dev/null; then
    echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
    touch "$STATE_DIR/createcluster-line"
fi
export DEBIAN_FRONTEND=noninteractive
# The baseline this run's additions are counted from: the node before
# onsite's first install until a run of this step has finished (a run a
# dropped connection cut off mid-apt counts from there too); after that,
# the node as this run finds it.
names() { getent "$1" | cut -d: -f1 | LC_ALL=C sort; }
# record NAME BASELINE COMMAND...: the file NAME in the state folder gains
# what COMMAND lists now and the file BASELINE lacks (none: everything it
# lists), sorted and unique
record() {
    local file=$STATE_DIR/$1 baseline=$STATE_DIR/$2
    [ "$2" != none ] || baseline=/dev/null
    shift 2
    { cat "$file" 2> /dev/null || true; "$@" | LC_ALL=C comm -13 "$baseline" -; } | LC_ALL=C sort -u > "$file.tmp"
    mv "$file.tmp" "$file"
}
# A node an older onsite installed has no users.created: what it made is
# what is here now and was not before (its own rule), taken once.
if [ -f "$STATE_DIR/packages" ] && [ ! -f "$STATE_DIR/users.created" ] && [ -f "$STATE_DIR/users.before" ]; then
    record users.created users.before names passwd
    record groups.created groups.before names group
fi
if [ -f "$STATE_DIR/packages" ]; then
    installed_packages > "$STATE_DIR/packages.run"
    names passwd > "$STATE_DIR/users.run"
    names group > "$STATE_DIR/groups.run"
    base=run
else
    base=before
fi
dpkg --configure -a  # finish an install a dropped connection interrupted
apt-get "${opts[@]}" -q update
apt-get "${opts[@]}" -q -y install "${wanted[@]}"
# What this install added, for uninstall: the users and groups the
# packages' scripts made, the packages with their dependencies (last: a
# `packages` file marks a finished run).
record users.created "users.$base" names passwd
record groups.created "groups.$base" names group
record packages "packages.$base" installed_packages
# Packages the node had that apt removed to make room (a conflict with a
# newer library from the bundle): named now and by uninstall, which cannot
# put them back without their .deb.
gone() { LC_ALL=C comm -23 "$STATE_DIR/packages.$base" <(installed_packages); }
record packages.removed none gone
rm -f "$STATE_DIR/packages.run" "$STATE_DIR/users.run" "$STATE_DIR/groups.run"
if [ -s "$STATE_DIR/packages.removed" ]; then
    echo "note: apt removed packages this node had before: $(tr '\n' ' ' < "$STATE_DIR/packages.removed")" >&2
fi
echo "installed: ${wanted[*]} ($(wc -l < "$STATE_DIR/packages") packages added to the node)"
