#!/bin/bash
# The etcd cluster answers on every member, with all members in it.
set -euo pipefail
. lib/onsite.sh
. lib/etcd.sh
etcd_healthy
