#!/bin/bash
# The etcd cluster answers on every member, with all members in it.
set -euo pipefail
. lib/onsite.sh
. lib/etcd.sh
wait_for 120 "etcd cluster ($(etcd_endpoints))" etcd_healthy
etcd_all endpoint status -w table
