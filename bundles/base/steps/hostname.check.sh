#!/bin/bash
set -euo pipefail
[ "$(hostname)" = "$ONSITE_NODE" ] && [ "$(cat /etc/hostname 2>/dev/null)" = "$ONSITE_NODE" ]
