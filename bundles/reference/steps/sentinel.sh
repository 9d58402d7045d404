#!/bin/bash
# Configure and start Redis Sentinel.
set -euo pipefail
. lib/onsite.sh
conf=$(bash render/sentinel.sh)
if seed_file /etc/redis/sentinel.conf 0640 redis:redis <<< "$conf"; then svc_apply sentinel; else svc_start sentinel; fi
