#!/bin/bash
set -euo pipefail
. lib/onsite.sh
bash render/danted.sh | file_current /etc/danted.conf
svc_running socks5
