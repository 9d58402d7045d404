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
# PostgreSQL's clusters are Patroni's to create.
mkdir -p /etc/postgresql-common
if ! grep -qx 'create_main_cluster = false' /etc/postgresql-common/createcluster.conf 2>/dev/null; then
    echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
fi
export DEBIAN_FRONTEND=noninteractive
dpkg --configure -a  # finish an install a dropped connection interrupted
apt-get "${opts[@]}" -q update
apt-get "${opts[@]}" -q -y install "${wanted[@]}"
echo "installed: ${wanted[*]}"
