#!/bin/bash
# Keep one marked block in /etc/hosts with every node of the plan.
set -euo pipefail
begin="# BEGIN onsite $ONSITE_SITE"
end="# END onsite $ONSITE_SITE"
block="$begin"$'\n'
for n in $ONSITE_NODES; do
    var="ONSITE_NODE_$(echo "$n" | tr 'a-z-' 'A-Z_')_ADDRESS"
    block+="${!var} $n"$'\n'
done
block+="$end"
tmp=$(mktemp /etc/hosts.onsite.XXXXXX)
# the markers through the environment: awk -v would read a backslash in the site name as an escape
B=$begin E=$end awk '$0==ENVIRON["B"]{skip=1} !skip{print} $0==ENVIRON["E"]{skip=0}' /etc/hosts > "$tmp"
printf '%s\n' "$block" >> "$tmp"
chmod 644 "$tmp"
cat "$tmp" > /etc/hosts
rm -f "$tmp"
echo "$block"
