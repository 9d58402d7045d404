#!/bin/bash
# In place: the file is the plan's, Patroni runs, and PostgreSQL (when it
# runs) listens on the plan's port (it reads the port only when it starts).
set -euo pipefail
. lib/onsite.sh
. lib/patroni.sh
bash render/patroni.sh | file_current /etc/patroni/config.yml
svc_running patroni
running_port=$(patroni_running_port)
[ -z "$running_port" ] || [ "$running_port" = "$ONSITE_PORT_PATRONI_POSTGRES" ]
