#!/bin/bash
# Sentinel sees the primary, every replica and the other sentinels, with quorum.
set -euo pipefail
. lib/onsite.sh
. lib/sentinel.sh
wait_for 120 "Sentinel: primary, $(sentinel_replicas) replicas, $(sentinel_count) sentinels" sentinel_ready
sentinel_at 127.0.0.1 info sentinel | grep "^master"
