#!/bin/bash
# verify: this node reaches every node of the plan on its SSH port.
set -uo pipefail
bad=()
for n in $ONSITE_NODES; do
    var="ONSITE_NODE_$(echo "$n" | tr 'a-z-' 'A-Z_')_ADDRESS"
    # shellcheck disable=SC2016  # $1 belongs to the inner shell: the address is an argument, not code
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/22"' _ "${!var}" 2>/dev/null || bad+=("$n")
done
count=$(echo "$ONSITE_NODES" | wc -w)
if [ "${#bad[@]}" -eq 0 ]; then
    echo "ONSITE-RESULT {\"status\": \"ok\", \"summary\": \"reaches all $count nodes\"}"
else
    echo "ONSITE-RESULT {\"status\": \"failed\", \"summary\": \"no answer from ${bad[*]}\", \"hint\": \"check the LAN between the nodes (cabling, VLAN, firewall)\"}"
fi
