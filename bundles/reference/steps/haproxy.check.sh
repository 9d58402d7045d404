#!/bin/bash
set -euo pipefail
. lib/onsite.sh
bash render/haproxy.sh | file_current /etc/haproxy/haproxy.cfg
svc_running haproxy
