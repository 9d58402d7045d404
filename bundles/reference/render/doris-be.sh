#!/bin/bash
# Apache Doris BE, with the parameters the deployment guide names.
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
tablet=$(number components.doris-be.tablet_create_timeout_s "$ONSITE_SETTING_DORIS_BE_TABLET_CREATE_TIMEOUT_S")
tasks=$(number components.doris-be.max_concurrent_task_num "$ONSITE_SETTING_DORIS_BE_MAX_CONCURRENT_TASK_NUM")
disk=$(number components.doris-be.max_disk_usage_percent "$ONSITE_SETTING_DORIS_BE_MAX_DISK_USAGE_PERCENT")
medium=$(flag components.doris-be.disable_storage_medium "$ONSITE_SETTING_DORIS_BE_DISABLE_STORAGE_MEDIUM")
storage=$(conf_path components.doris-be.storage_root_path "$ONSITE_SETTING_DORIS_BE_STORAGE_ROOT_PATH")
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
priority_networks = $ONSITE_SUBNET
be_port = $ONSITE_PORT_DORIS_BE_BE
webserver_port = $ONSITE_PORT_DORIS_BE_WEBSERVER
heartbeat_service_port = $ONSITE_PORT_DORIS_BE_HEARTBEAT_SERVICE
brpc_port = $ONSITE_PORT_DORIS_BE_BRPC
storage_root_path = $storage
tablet_create_timeout_s = $tablet
max_concurrent_task_num = $tasks
max_disk_usage_percent = $disk
disable_storage_medium = $medium
CONF
