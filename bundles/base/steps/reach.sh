#!/bin/bash
# Every node's SSH port must answer from here: the nodes share a LAN.
set -euo pipefail
failed=0
for n in $ONSITE_NODES; do
    var="ONSITE_NODE_$(echo "$n" | tr 'a-z-' 'A-Z_')_ADDRESS"
    addr=${!var}
    # shellcheck disable=SC2016  # $1 belongs to the inner shell: the address is an argument, not code
    if timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/22"' _ "$addr" 2>/dev/null; then
        echo "reach $n ($addr): ok"
    else
        echo "reach $n ($addr): NO ANSWER" >&2
        failed=1
    fi
done
exit "$failed"
