#!/bin/bash
# In place when the payload is unpacked, the configuration current and the
# payload's onsite-check.sh PHASE (if it has one) passes.
set -euo pipefail
. lib/onsite.sh
. lib/vendor.sh
vendor_setup
vendor_unpacked
[ -f "$STATE_DIR/vendor/$ONSITE_STEP.done" ]
for spec in "${VENDOR_CONFIGS[@]}"; do
    bash "render/${spec%%:*}" | file_current "$VENDOR_CONFIG_DIR/${spec#*:}"
done
if [ -f "$VENDOR_DIR/onsite-check.sh" ]; then
    export ONSITE_CONFIG_DIR=$VENDOR_CONFIG_DIR
    cd "$VENDOR_DIR"
    bash ./onsite-check.sh "$VENDOR_PHASE"
fi
