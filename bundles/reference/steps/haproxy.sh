#!/bin/bash
# HAProxy in front of the control-plane API servers.
set -euo pipefail
. lib/onsite.sh
conf=$(bash render/haproxy.sh)
changed=0
put_file /etc/haproxy/haproxy.cfg 0644 root:root <<< "$conf" && changed=1
haproxy -c -q -f /etc/haproxy/haproxy.cfg || die "HAProxy rejects /etc/haproxy/haproxy.cfg (haproxy -c says why)"
if [ "$changed" = 1 ]; then svc_apply haproxy; else svc_start haproxy; fi
