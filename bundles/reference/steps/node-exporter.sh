#!/bin/bash
# node-exporter on the node's address and, on a VIP member, onsite-vip-facts
# (which VIPs the node holds, as textfile metrics; it runs as root like
# keepalived's checks: the textfile folder belongs to root).
set -euo pipefail
. lib/onsite.sh
conf=$(bash render/node-exporter-defaults.sh)
changed=0
put_file /etc/default/prometheus-node-exporter 0644 root:root <<< "$conf" && changed=1
if [ "$changed" = 1 ]; then svc_apply node-exporter; else svc_start node-exporter; fi
facts=$(bash render/vip-facts.sh)
if [ -n "$facts" ]; then
    changed=0
    put_file /usr/local/lib/onsite/onsite-vip-facts.sh 0755 root:root < files/onsite-vip-facts.sh && changed=1
    put_file /etc/onsite/vip-facts.conf 0644 root:root <<< "$facts" && changed=1
    if have_systemd && put_file /etc/systemd/system/onsite-vip-facts.service 0644 root:root < files/onsite-vip-facts.service; then
        systemctl daemon-reload
        changed=1
    fi
    if [ "$changed" = 1 ]; then svc_apply vip-facts; else svc_start vip-facts; fi
fi
. lib/monitoring.sh
exported() { http_has "$ONSITE_NODE_ADDRESS" "$ONSITE_PORT_NODE_EXPORTER_METRICS" /metrics "$1.*"; }
wait_for 30 "node-exporter answering on $ONSITE_NODE_ADDRESS:$ONSITE_PORT_NODE_EXPORTER_METRICS" exported node_boot_time_seconds
if [ -n "$facts" ]; then wait_for $((SCRAPE * 2 + 10)) "node-exporter reporting the VIP facts" exported onsite_vip_held; fi
