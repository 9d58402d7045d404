#!/bin/bash
# HAProxy in front of every control-plane node's API server; keepalived puts
# the API VIP on one of these nodes.
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
global
	chroot /var/lib/haproxy
	user haproxy
	group haproxy
	maxconn 4096

defaults
	mode tcp
	timeout connect 5s
	timeout client 1h
	timeout server 1h

# Prometheus reads HAProxy's own metrics here (/metrics; /stats for people).
frontend stats
	mode http
	bind $ONSITE_NODE_ADDRESS:$ONSITE_PORT_HAPROXY_STATS
	timeout client 30s
	http-request use-service prometheus-exporter if { path /metrics }
	stats enable
	stats uri /stats

frontend k8s-api
	bind :$ONSITE_PORT_HAPROXY_FRONTEND
	default_backend k8s-api

backend k8s-api
	balance roundrobin
	option tcp-check
CONF
for n in $(role_nodes k8s-master); do
    printf '\tserver %s %s:%s check inter 2s fall 3 rise 2\n' "$n" "$(node_address "$n")" "$ONSITE_PORT_KUBE_APISERVER_API"
done
