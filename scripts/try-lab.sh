#!/usr/bin/env bash
# The newcomer's main job, with no hardware: set up, bring up a lab of 4 real
# nodes on this machine, and install the plan onto it. In a terminal this
# opens the wizard on the lab's answer file (Welcome -> Open -> Review ->
# Preflight -> Install -> Done); without one it runs `onsite install`.
# Needs root. `onsite lab down` removes the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/onsite lab up
answer=$(.venv/bin/python -c 'from installer.lab import Lab; print(Lab().answer_file)')
# The bundles to install sit next to the answer file, where onsite looks.
bundles="$(dirname "$answer")/bundles"
rm -rf "$bundles/base"
mkdir -p "$bundles"
.venv/bin/onsite bundle build bundles/base -o "$bundles/base"
.venv/bin/onsite validate "$answer"
if [ -t 0 ] && [ -t 1 ]; then
    exec .venv/bin/onsite wizard "$answer"
fi
exec .venv/bin/onsite install "$answer" --resume
