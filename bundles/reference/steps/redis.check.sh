#!/bin/bash
set -euo pipefail
. lib/onsite.sh
bash render/redis.sh | file_current /etc/redis/redis.conf seed
svc_running redis
