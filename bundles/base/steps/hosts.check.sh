#!/bin/bash
set -euo pipefail
for n in $ONSITE_NODES; do
    var="ONSITE_NODE_$(echo "$n" | tr 'a-z-' 'A-Z_')_ADDRESS"
    grep -qE "^${!var//./\\.} $n\$" /etc/hosts || exit 1
done
