#!/bin/bash
. ./steps/common.sh
members=""
for a in $ONSITE_ROLE_ETCD_ADDRESSES; do members="$members${members:+,}http://$a:$ONSITE_PORT_ETCD_PEER"; done
cat > "$T/etcd.conf" <<CONF
name=$ONSITE_NODE
listen-client-urls=http://$ONSITE_NODE_ADDRESS:$ONSITE_PORT_ETCD_CLIENT
initial-cluster=$members
CONF
ran
