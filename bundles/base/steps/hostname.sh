#!/bin/bash
# Set the node's hostname to the planned one, now and after a reboot.
set -euo pipefail
# The hostname before onsite's first install, for `onsite uninstall`.
state=/var/lib/onsite/state
if [ ! -f "$state/hostname.before" ]; then
    mkdir -p "$state" && chmod 0700 "$state"
    hostname > "$state/hostname.before"
fi
echo "$ONSITE_NODE" > /etc/hostname
hostname "$ONSITE_NODE"
echo "hostname is $(hostname)"
