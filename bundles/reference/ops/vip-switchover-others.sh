#!/bin/bash
# onsite switchover FILE vip:NAME --to NODE, second part: every other member
# goes back to the plan's priority (an earlier switchover's change undone).
set -euo pipefail
. lib/onsite.sh
. lib/vip.sh
vip_member "$ONSITE_NODE" || exit 0
to=$ONSITE_OP_TO
[ -n "$to" ] && [ "$ONSITE_NODE" != "$to" ] || exit 0
[ "$VIP_PLAN_PRIORITY" != 0 ] || exit 0
vip_set_priority "$VIP_PLAN_PRIORITY" || true
