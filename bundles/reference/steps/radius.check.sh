#!/bin/bash
set -euo pipefail
. lib/onsite.sh
. lib/radius.sh
d=/etc/freeradius/3.0
bash render/radius-clients.sh | file_current "$d/clients.conf"
bash render/radius-users.sh | file_current "$d/mods-config/files/onsite"
# shellcheck disable=SC2016  # a literal FreeRADIUS $INCLUDE line
grep -qx '\$INCLUDE onsite' "$d/mods-config/files/authorize"
svc_running radius
radius_probe 127.0.0.1
