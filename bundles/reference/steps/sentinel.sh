#!/bin/bash
# Configure and start Redis Sentinel.
set -euo pipefail
. lib/onsite.sh
. lib/replace.sh
conf=$(bash render/sentinel.sh)
if seed_file /etc/redis/sentinel.conf 0640 redis:redis <<< "$conf"; then
    point_sentinel /etc/redis/sentinel.conf  # node replace: monitor the primary the other sentinels name now
    svc_apply sentinel
else
    svc_start sentinel
fi
