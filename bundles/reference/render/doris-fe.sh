#!/bin/bash
# Apache Doris FE: every FE node a follower; the first one starts the
# cluster, the others join it through it (the helper).
set -euo pipefail
. lib/onsite.sh
helper=$(first_of "$(role_addresses doris-fe)")
site=$(one_line site.name "$ONSITE_SITE")
meta=$(conf_path components.doris-fe.meta_dir "$ONSITE_SETTING_DORIS_FE_META_DIR")
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
# helper: $helper:$ONSITE_PORT_DORIS_FE_EDIT_LOG
priority_networks = $ONSITE_SUBNET
http_port = $ONSITE_PORT_DORIS_FE_HTTP
rpc_port = $ONSITE_PORT_DORIS_FE_RPC
query_port = $ONSITE_PORT_DORIS_FE_QUERY
edit_log_port = $ONSITE_PORT_DORIS_FE_EDIT_LOG
meta_dir = $meta
CONF
