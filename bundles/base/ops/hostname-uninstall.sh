#!/bin/bash
# onsite uninstall: the hostname the node had before the install.
set -euo pipefail
before=$(cat /var/lib/onsite/state/hostname.before 2>/dev/null || true)
if [ -z "$before" ] || [ "$before" = "$(hostname)" ]; then echo "hostname stays $(hostname)"; exit 0; fi
[[ $before =~ ^[A-Za-z0-9.-]+$ ]] || { echo "onsite: the recorded hostname is not a hostname; it stays $(hostname)" >&2; exit 0; }
echo "$before" > /etc/hostname
hostname "$before"
echo "hostname is $(hostname) again"
