#!/bin/bash
# onsite uninstall, one component: stop and disable its services, remove the
# files onsite wrote for it and its data (unless --keep-data). Which ones:
# by the step's id (ONSITE_STEP), below.
set -euo pipefail
. lib/onsite.sh
. lib/uninstall.sh
. lib/uninstall-components.sh
component_setup
for s in "${SERVICES[@]}"; do remove_service "$s"; done
component_stopped
if [ "${#FILES[@]}" -gt 0 ]; then remove_files "${FILES[@]}"; fi
if [ "${#DATA[@]}" -gt 0 ]; then remove_data "${DATA[@]}"; fi
component_after
echo "$ONSITE_STEP: done"
