#!/bin/bash
set -euo pipefail
. lib/onsite.sh
. lib/packages.sh
for p in $(wanted_packages); do
    [ "$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || exit 1
done
