#!/bin/bash
set -euo pipefail
[ "$(sysctl -n net.ipv4.ip_nonlocal_bind)" = 1 ] && [ -f /etc/sysctl.d/60-onsite-vip.conf ]
