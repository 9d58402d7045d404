#!/bin/bash
# Configure and start Redis (the first redis node as primary).
set -euo pipefail
. lib/onsite.sh
conf=$(bash render/redis.sh)
install -d -o redis -g redis -m 0750 /var/lib/redis
if seed_file /etc/redis/redis.conf 0640 redis:redis <<< "$conf"; then svc_apply redis; else svc_start redis; fi
