#!/bin/bash
set -euo pipefail
. lib/onsite.sh
bash render/sentinel.sh | file_current /etc/redis/sentinel.conf seed
svc_running sentinel
