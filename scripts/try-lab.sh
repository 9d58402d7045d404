#!/usr/bin/env bash
# The newcomer's main job, with no hardware: set up, bring up a lab of 4 real
# nodes on this machine, and install the reference system onto it (etcd,
# Patroni, Redis + Sentinel, FreeRADIUS, Dante, HAProxy, keepalived), ending
# with `onsite verify`. In a terminal this
# opens the wizard on the lab's answer file (Welcome -> Open -> Review ->
# Preflight -> Install -> Done); without one it runs `onsite install`.
# Needs root: as a user it runs itself again through sudo; as root it needs no
# sudo (a fresh Debian 12 has none). `onsite lab down` removes the lab.
set -euo pipefail
# shellcheck source=scripts/as-root.sh
. "$(dirname "$0")/as-root.sh"
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/onsite lab up
answer=$(.venv/bin/python -c 'from installer.lab import Lab; print(Lab().answer_file)')
# The bundles to install sit next to the answer file, where onsite looks:
# base and the reference system with its Debian packages (apt downloads them).
bash scripts/build-bundles.sh "$(dirname "$answer")/bundles"
.venv/bin/onsite validate "$answer"
if [ -t 0 ] && [ -t 1 ]; then
    exec .venv/bin/onsite wizard "$answer"
fi
exec .venv/bin/onsite install "$answer" --resume
