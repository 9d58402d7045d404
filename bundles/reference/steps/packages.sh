#!/bin/bash
# Install the Debian packages this node's roles need, from the bundle's own
# package folder (debs/, an apt "flat" repository): the node needs no other
# package source. apt works on a private list folder, so the node's own
# sources and lists are left alone. Services do not start during the install
# (policy-rc.d); later steps configure and start them.
set -euo pipefail
. lib/onsite.sh
. lib/packages.sh
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
    getent passwd | cut -d: -f1 | LC_ALL=C sort > "$STATE_DIR/users.before"
    getent group | cut -d: -f1 | LC_ALL=C sort > "$STATE_DIR/groups.before"
    mv "$STATE_DIR/packages.before.tmp" "$STATE_DIR/packages.before"
fi
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
echo "installed: ${wanted[*]} ($(wc -l < "$STATE_DIR/packages") packages added to the node)"
