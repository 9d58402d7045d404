#!/usr/bin/env bash
# The newcomer's main job: set up, bring up a lab of 4 real nodes on this
# machine, and run onsite against its ready answer file. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/onsite lab up
answer=$(.venv/bin/python -c 'from installer.lab import Lab; print(Lab().answer_file)')
.venv/bin/onsite validate "$answer"
if .venv/bin/onsite --help | grep -q " install "; then
    exec .venv/bin/onsite install "$answer"
fi
exec .venv/bin/onsite plan "$answer"
