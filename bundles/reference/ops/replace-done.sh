#!/bin/bash
# node replace, last, on the node: it is a member again. Its marker goes, so
# a later `node replace` of this (now running) node is refused by
# ops/replace-target-check.sh instead of throwing a healthy member out.
set -euo pipefail
. lib/onsite.sh
rm -f "$STATE_DIR/replace-started"
echo "$ONSITE_NODE is back in the site"
