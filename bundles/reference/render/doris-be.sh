#!/bin/bash
# Apache Doris BE, with the parameters the deployment guide names.
set -euo pipefail
. lib/onsite.sh
cat <<CONF
# Written by onsite for site $ONSITE_SITE; changes here are overwritten.
priority_networks = $ONSITE_SUBNET
be_port = $ONSITE_PORT_DORIS_BE_BE
webserver_port = $ONSITE_PORT_DORIS_BE_WEBSERVER
heartbeat_service_port = $ONSITE_PORT_DORIS_BE_HEARTBEAT_SERVICE
brpc_port = $ONSITE_PORT_DORIS_BE_BRPC
storage_root_path = $ONSITE_SETTING_DORIS_BE_STORAGE_ROOT_PATH
tablet_create_timeout_s = $ONSITE_SETTING_DORIS_BE_TABLET_CREATE_TIMEOUT_S
max_concurrent_task_num = $ONSITE_SETTING_DORIS_BE_MAX_CONCURRENT_TASK_NUM
max_disk_usage_percent = $ONSITE_SETTING_DORIS_BE_MAX_DISK_USAGE_PERCENT
disable_storage_medium = $ONSITE_SETTING_DORIS_BE_DISABLE_STORAGE_MEDIUM
CONF
