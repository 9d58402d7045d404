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
cat <<CONF
# Written by onsite for site $ONSITE_SITE; changes here are overwritten.
brokerClusterName=$ONSITE_SETTING_ROCKETMQ_BROKER_BROKERCLUSTERNAME
brokerName=$ONSITE_SETTING_ROCKETMQ_BROKER_BROKERNAME
brokerId=$id
brokerRole=$role
brokerIP1=$ONSITE_NODE_ADDRESS
listenPort=$ONSITE_PORT_ROCKETMQ_BROKER_LISTEN
namesrvAddr=$(join ";" "${ns[@]}")
storePathRootDir=$ONSITE_SETTING_ROCKETMQ_BROKER_STOREPATHROOTDIR
storePathCommitLog=$ONSITE_SETTING_ROCKETMQ_BROKER_STOREPATHCOMMITLOG
flushDiskType=$ONSITE_SETTING_ROCKETMQ_BROKER_FLUSHDISKTYPE
mapedFileSizeCommitLog=$ONSITE_SETTING_ROCKETMQ_BROKER_MAPEDFILESIZECOMMITLOG
CONF
