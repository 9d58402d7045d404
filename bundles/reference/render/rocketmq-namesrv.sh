#!/bin/bash
# RocketMQ NameServer, with the parameters the deployment guide names.
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
threads=$(number components.rocketmq-namesrv.threadPoolNums "$ONSITE_SETTING_ROCKETMQ_NAMESRV_THREADPOOLNUMS")
level=$(prop_str components.rocketmq-namesrv.logLevel "$ONSITE_SETTING_ROCKETMQ_NAMESRV_LOGLEVEL")
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
listenPort=$ONSITE_PORT_ROCKETMQ_NAMESRV_LISTEN
threadPoolNums=$threads
logLevel=$level
CONF
