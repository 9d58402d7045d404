#!/bin/bash
# Exits 0 on the node whose Patroni leads now: its step runs last (replicas first).
set -euo pipefail
. lib/onsite.sh
# the body read whole first: `http_get | grep -q` fails at random under pipefail (lib/onsite.sh: http_has)
body=$(http_get "$ONSITE_NODE_ADDRESS" "$ONSITE_PORT_PATRONI_REST" /patroni)
grep -Eq '"role": *"(master|primary|leader)"' <<< "$body"
