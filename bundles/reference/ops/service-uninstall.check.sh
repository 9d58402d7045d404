#!/bin/bash
# Passes when the component is gone: no service runs, no file onsite wrote
# for it is there, its data is gone (or kept with --keep-data).
set -euo pipefail
. lib/onsite.sh
. lib/uninstall.sh
. lib/uninstall-components.sh
component_setup
for s in "${SERVICES[@]}"; do ! svc_running "$s" || exit 1; done
for f in "${FILES[@]}" "${ALWAYS[@]}"; do [ ! -e "$f" ] || exit 1; done
if [ "${#DATA[@]}" -gt 0 ]; then gone_data "${DATA[@]}"; fi
component_gone
