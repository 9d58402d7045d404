#!/usr/bin/env bash
# The lowest dependency versions pyproject.toml allows, tested: a virtual
# environment of its own (.venv-lowest) with constraints-lowest.txt's
# versions, then the core tests and the wizard's Pilot tests (no lab).
# Run by .ci/run; about a minute once pip's cache is warm.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-lowest
py=${PYTHON:-/usr/bin/python3}
if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
fi
log=$(mktemp)
pytest_pin=$(grep -i '^pytest==' constraints.txt)
if ! "$venv/bin/python" -m pip install --disable-pip-version-check -c constraints-lowest.txt -e . "$pytest_pin" >"$log" 2>&1; then
    grep -v '^WARNING: Location' "$log" >&2 || true
    rm -f "$log"
    echo "test-lowest: installing constraints-lowest.txt's versions failed (above): pyproject.toml's lower bounds and constraints-lowest.txt disagree, or a version does not install" >&2
    exit 1
fi
rm -f "$log"
# Every pin must be what is installed (pip would not say if one were ignored).
"$venv/bin/python" - <<'PY'
import re, sys
from importlib.metadata import version
wrong = []
for line in open("constraints-lowest.txt"):
    line = line.split("#")[0].strip()
    if line:
        name, want = re.split(r"==", line)
        if version(name) != want:
            wrong.append(f"{name} {version(name)} (constraints-lowest.txt: {want})")
if wrong:
    sys.exit("test-lowest: not the lowest versions: " + ", ".join(wrong))
print("test-lowest: " + ", ".join(f"{l.split('==')[0]} {l.split('==')[1].strip()}" for l in open("constraints-lowest.txt") if "==" in l and not l.startswith("#")))
PY
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider -m "not lab and not slow" \
    tests/test_core.py tests/test_corpus.py tests/test_bundle.py tests/test_reference_render.py tests/test_receiver.py tests/test_wizard.py \
    tests/test_ipsheet.py tests/test_wizard_sheet.py
