#!/bin/bash
set -euo pipefail
. lib/onsite.sh
. lib/patroni.sh
patroni_ready
