#!/bin/bash
set -euo pipefail
. lib/onsite.sh
file_current /etc/keepalived/onsite-check-haproxy.sh < files/onsite-check-haproxy.sh
file_current /etc/keepalived/onsite-check-service-health.sh < files/onsite-check-service-health.sh
bash render/keepalived-health.sh | file_current /etc/keepalived/onsite-health.env
bash render/keepalived.sh | file_current /etc/keepalived/keepalived.conf
svc_running keepalived
