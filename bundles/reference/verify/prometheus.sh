#!/bin/bash
# onsite verify, on the monitoring node: Prometheus scrapes every target,
# every exporter reaches its service, Alertmanager is ready and no alert
# fires. Prints one line "ONSITE-RESULT {json}" (verify/prometheus.py).
set -euo pipefail
. lib/onsite.sh
. lib/monitoring.sh
# Targets a fresh install just started get a few scrapes to answer.
wait=$((SCRAPE * 4 + 10))
export ONSITE_VERIFY_WAIT=$((wait < 45 ? wait : 45)) ONSITE_VERIFY_EVERY=$((SCRAPE < 2 ? SCRAPE : 2))
if ! command -v python3 > /dev/null; then
    echo 'ONSITE-RESULT {"status": "failed", "summary": "python3 is missing on the monitoring node", "hint": "install onsite again: the packages step installs it"}'
    exit 0
fi
exec python3 verify/prometheus.py
