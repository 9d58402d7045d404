#!/bin/bash
# onsite-vip-facts: which of this node's VIPs it holds, for Prometheus,
# which cannot see that by itself. Every INTERVAL seconds it writes
# onsite_vip_held{vip,address,escape} (1: held here, 0: not) into
# node-exporter's textfile folder; Prometheus sums them per VIP.
# Configuration (/etc/onsite/vip-facts.conf): "interval N" and one
# "vip ADDRESS LABELS" line per VIP this node is a member of.
set -u
conf=${1:-/etc/onsite/vip-facts.conf}
dir=/var/lib/prometheus/node-exporter
interval=15
addresses=() labels=()
while read -r key a b; do
    case $key in
        interval) interval=$a ;;
        vip) addresses+=("$a") labels+=("$b") ;;
    esac
done < "$conf"
while :; do
    held=$(ip -o -4 addr show 2>/dev/null)
    {
        echo '# HELP onsite_vip_held 1 if this node holds the VIP, else 0 (onsite-vip-facts).'
        echo '# TYPE onsite_vip_held gauge'
        for i in "${!addresses[@]}"; do
            case $held in *" ${addresses[$i]}/"*) n=1 ;; *) n=0 ;; esac
            echo "onsite_vip_held{${labels[$i]}} $n"
        done
    } > "$dir/.onsite_vip.prom.tmp"
    mv -f "$dir/.onsite_vip.prom.tmp" "$dir/onsite_vip.prom"
    sleep "$interval"
done
