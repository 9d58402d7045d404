#!/bin/bash
# Sentinel sees the primary, every replica and the other sentinels, with quorum.
set -euo pipefail
. lib/onsite.sh
. lib/sentinel.sh
sentinel_ready
