#!/usr/bin/env bash
# The test suite: the architecture contract, then every test (the lab tests
# need root; they bring up their own lab of nodes and always tear it down).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests bench scripts
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
