#!/bin/bash
# etcd's configuration file for this node (etcd --config-file).
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
token=$(yaml_str site.name "onsite-$ONSITE_SITE")
client=$ONSITE_PORT_ETCD_CLIENT peer=$ONSITE_PORT_ETCD_PEER
# A node put back by `onsite node replace` joins the running cluster (the
# survivors added it as a member first); the marker stays with its data.
state=new
[ ! -e /var/lib/onsite/state/etcd-join-existing ] || state=existing
members=()
for n in $(role_nodes etcd); do members+=("$n=http://$(node_address "$n"):$peer"); done
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
name: $ONSITE_NODE
data-dir: /var/lib/etcd
listen-peer-urls: http://$ONSITE_NODE_ADDRESS:$peer
listen-client-urls: http://$ONSITE_NODE_ADDRESS:$client,http://127.0.0.1:$client
initial-advertise-peer-urls: http://$ONSITE_NODE_ADDRESS:$peer
advertise-client-urls: http://$ONSITE_NODE_ADDRESS:$client
initial-cluster: $(join , "${members[@]}")
initial-cluster-token: $token
initial-cluster-state: $state
# Patroni talks to etcd's v2 API: Debian's etcd 3.4 is built without the v3
# gRPC gateway (HTTP/JSON) that Patroni's etcd3 client needs.
enable-v2: true
CONF
