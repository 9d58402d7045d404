#!/bin/bash
# One leader, every other member streaming from it (one synchronously when
# synchronous_mode is on).
set -euo pipefail
. lib/onsite.sh
. lib/patroni.sh
export PGPASSWORD=""  # set per command in lib/patroni.sh
wait_for 300 "Patroni: a leader with every standby streaming (one synchronous with synchronous_mode)" patroni_ready
patronictl -c /etc/patroni/config.yml list
