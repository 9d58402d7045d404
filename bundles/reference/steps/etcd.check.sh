#!/bin/bash
set -euo pipefail
. lib/onsite.sh
bash render/etcd.sh | file_current /etc/etcd/etcd.conf.yml
svc_running etcd
