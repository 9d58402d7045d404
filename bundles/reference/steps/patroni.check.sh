#!/bin/bash
set -euo pipefail
. lib/onsite.sh
bash render/patroni.sh | file_current /etc/patroni/config.yml
svc_running patroni
