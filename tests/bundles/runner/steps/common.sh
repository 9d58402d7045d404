# shellcheck shell=bash
# Sourced by every test step: strict mode and a record of each run.
set -euo pipefail
T=/var/lib/onsite-test
ran() { mkdir -p "$T"; echo "$ONSITE_NODE $ONSITE_STEP" >> "$T/runs.log"; }
done_marker() { touch "$T/$ONSITE_STEP.ok"; }
