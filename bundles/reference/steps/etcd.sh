#!/bin/bash
# Configure and start this node's etcd member.
set -euo pipefail
. lib/onsite.sh
conf=$(bash render/etcd.sh)
changed=0
put_file /etc/etcd/etcd.conf.yml 0644 root:root <<< "$conf" && changed=1
put_file /etc/default/etcd 0644 root:root <<< "ETCD_CONFIG_FILE=/etc/etcd/etcd.conf.yml" && changed=1
install -d -o etcd -g etcd -m 0700 /var/lib/etcd
if [ "$changed" = 1 ]; then svc_apply etcd; else svc_start etcd; fi
