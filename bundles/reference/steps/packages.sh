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
# install added, and only those.
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
dpkg --configure -a  # finish an install a dropped connection interrupted
apt-get "${opts[@]}" -q update
apt-get "${opts[@]}" -q -y install "${wanted[@]}"
# The packages this install added (with their dependencies), for uninstall.
installed_packages | LC_ALL=C comm -13 "$STATE_DIR/packages.before" - > "$STATE_DIR/packages.tmp"
mv "$STATE_DIR/packages.tmp" "$STATE_DIR/packages"
# Packages the node had that apt removed to make room (a conflict with a
# newer library from the bundle): named now and by uninstall, which cannot
# put them back without their .deb.
installed_packages | LC_ALL=C comm -23 "$STATE_DIR/packages.before" - > "$STATE_DIR/packages.removed"
if [ -s "$STATE_DIR/packages.removed" ]; then
    echo "note: apt removed packages this node had before: $(tr '\n' ' ' < "$STATE_DIR/packages.removed")" >&2
fi
echo "installed: ${wanted[*]} ($(wc -l < "$STATE_DIR/packages") packages added to the node)"
