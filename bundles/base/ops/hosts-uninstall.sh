#!/bin/bash
# onsite uninstall: take the site's marked block out of /etc/hosts.
set -euo pipefail
begin="# BEGIN onsite $ONSITE_SITE"
end="# END onsite $ONSITE_SITE"
grep -qxF -- "$begin" /etc/hosts || { echo "no onsite block in /etc/hosts"; exit 0; }
tmp=$(mktemp /etc/hosts.onsite.XXXXXX)
# the markers through the environment: awk -v would read a backslash in the site name as an escape
B=$begin E=$end awk '$0==ENVIRON["B"]{skip=1} !skip{print} $0==ENVIRON["E"]{skip=0}' /etc/hosts > "$tmp"
chmod 644 "$tmp"
cat "$tmp" > /etc/hosts
rm -f "$tmp"
echo "removed the block of $ONSITE_SITE from /etc/hosts"
