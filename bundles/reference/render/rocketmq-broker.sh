#!/bin/bash
# RocketMQ Broker: the first broker node is the primary (brokerId 0, the
# configured brokerRole), the others replicate it (brokerId 1.., SLAVE).
set -euo pipefail
. lib/onsite.sh
ns=()
for a in $(role_addresses rocketmq-namesrv); do ns+=("$a:$ONSITE_PORT_ROCKETMQ_NAMESRV_LISTEN"); done
id=0
for n in $(role_nodes rocketmq-broker); do
    [ "$n" = "$ONSITE_NODE" ] && break
    id=$((id + 1))
done
role=$ONSITE_SETTING_ROCKETMQ_BROKER_BROKERROLE
[ "$id" = 0 ] || role=SLAVE
site=$(one_line site.name "$ONSITE_SITE")
role=$(prop_str components.rocketmq-broker.brokerRole "$role")
cluster=$(prop_str components.rocketmq-broker.brokerClusterName "$ONSITE_SETTING_ROCKETMQ_BROKER_BROKERCLUSTERNAME")
broker=$(prop_str components.rocketmq-broker.brokerName "$ONSITE_SETTING_ROCKETMQ_BROKER_BROKERNAME")
root=$(prop_str components.rocketmq-broker.storePathRootDir "$ONSITE_SETTING_ROCKETMQ_BROKER_STOREPATHROOTDIR")
commitlog=$(prop_str components.rocketmq-broker.storePathCommitLog "$ONSITE_SETTING_ROCKETMQ_BROKER_STOREPATHCOMMITLOG")
mapped=$(number components.rocketmq-broker.mapedFileSizeCommitLog "$ONSITE_SETTING_ROCKETMQ_BROKER_MAPEDFILESIZECOMMITLOG")
flush=$(prop_str components.rocketmq-broker.flushDiskType "$ONSITE_SETTING_ROCKETMQ_BROKER_FLUSHDISKTYPE")
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
brokerClusterName=$cluster
brokerName=$broker
brokerId=$id
brokerRole=$role
brokerIP1=$ONSITE_NODE_ADDRESS
listenPort=$ONSITE_PORT_ROCKETMQ_BROKER_LISTEN
namesrvAddr=$(join ";" "${ns[@]}")
storePathRootDir=$root
storePathCommitLog=$commitlog
flushDiskType=$flush
mapedFileSizeCommitLog=$mapped
CONF
