#!/bin/bash
# onsite uninstall: the kernel setting goes back to what it was before the
# install (0 when nothing was recorded: the kernel's default).
set -euo pipefail
before=$(cat /var/lib/onsite/state/nonlocal-bind.before 2>/dev/null || echo 0)
[[ $before =~ ^[01]$ ]] || before=0
rm -f /etc/sysctl.d/60-onsite-vip.conf
sysctl -q -w net.ipv4.ip_nonlocal_bind="$before"
echo "net.ipv4.ip_nonlocal_bind = $(sysctl -n net.ipv4.ip_nonlocal_bind)"
