#!/bin/bash
# Dante, the SOCKS5 proxy.
set -euo pipefail
. lib/onsite.sh
conf=$(bash render/danted.sh)
if put_file /etc/danted.conf 0644 root:root <<< "$conf"; then svc_apply socks5; else svc_start socks5; fi
