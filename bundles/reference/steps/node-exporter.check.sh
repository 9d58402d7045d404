#!/bin/bash
set -euo pipefail
. lib/onsite.sh
bash render/node-exporter-defaults.sh | file_current /etc/default/prometheus-node-exporter
svc_running node-exporter
facts=$(bash render/vip-facts.sh)
if [ -n "$facts" ]; then
    file_current /usr/local/lib/onsite/onsite-vip-facts.sh < files/onsite-vip-facts.sh
    file_current /etc/onsite/vip-facts.conf <<< "$facts"
    if have_systemd; then file_current /etc/systemd/system/onsite-vip-facts.service < files/onsite-vip-facts.service; fi
    svc_running vip-facts
fi
