#!/bin/bash
set -euo pipefail
before=$(cat /var/lib/onsite/state/nonlocal-bind.before 2>/dev/null || echo 0)
[ ! -e /etc/sysctl.d/60-onsite-vip.conf ] && [ "$(sysctl -n net.ipv4.ip_nonlocal_bind)" = "$before" ]
