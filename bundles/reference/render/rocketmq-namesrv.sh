#!/bin/bash
# RocketMQ NameServer, with the parameters the deployment guide names.
set -euo pipefail
. lib/onsite.sh
cat <<CONF
# Written by onsite for site $ONSITE_SITE; changes here are overwritten.
listenPort=$ONSITE_PORT_ROCKETMQ_NAMESRV_LISTEN
threadPoolNums=$ONSITE_SETTING_ROCKETMQ_NAMESRV_THREADPOOLNUMS
logLevel=$ONSITE_SETTING_ROCKETMQ_NAMESRV_LOGLEVEL
CONF
