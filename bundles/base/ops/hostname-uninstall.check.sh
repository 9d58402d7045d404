#!/bin/bash
set -euo pipefail
before=$(cat /var/lib/onsite/state/hostname.before 2>/dev/null || true)
[ -z "$before" ] || [ "$before" = "$(hostname)" ]
