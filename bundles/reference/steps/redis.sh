#!/bin/bash
# Configure and start Redis (the first redis node as primary).
set -euo pipefail
. lib/onsite.sh
. lib/replace.sh
conf=$(bash render/redis.sh)
install -d -o redis -g redis -m 0750 /var/lib/redis
if seed_file /etc/redis/redis.conf 0640 redis:redis <<< "$conf"; then
    point_redis /etc/redis/redis.conf  # node replace: follow the primary Sentinel names now
    svc_apply redis
else
    svc_start redis
fi
