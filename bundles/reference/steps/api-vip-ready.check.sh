#!/bin/bash
# The Kubernetes API VIP answers on HAProxy's port.
set -euo pipefail
. lib/onsite.sh
vip=$ONSITE_VIP_K8S_API_ADDRESS port=$ONSITE_PORT_HAPROXY_FRONTEND
# shellcheck disable=SC2016  # $1 and $2 belong to the inner shell
exec timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$vip" "$port"
