#!/bin/bash
# Passes when ops/system-uninstall.sh finished here and no package the
# install added is installed again.
set -euo pipefail
. lib/onsite.sh
. lib/packages.sh
export LC_ALL=C
[ -f "$STATE_DIR/system-uninstalled" ] && [ -f "$STATE_DIR/packages.purge" ] || exit 1
[ -z "$(installed_packages | comm -12 "$STATE_DIR/packages.purge" -)" ]
for d in /opt/onsite /etc/onsite /usr/local/lib/onsite /var/log/onsite /run/onsite; do [ ! -e "$d" ] || exit 1; done
