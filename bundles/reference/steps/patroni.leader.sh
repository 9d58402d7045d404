#!/bin/bash
# Exit 0 on the Patroni leader: while a changed plan is applied node by
# node, the standbys go first.
set -euo pipefail
. lib/onsite.sh
. lib/patroni.sh
[ "$(patroni_leader 2>/dev/null)" = "$ONSITE_NODE_ADDRESS" ]
