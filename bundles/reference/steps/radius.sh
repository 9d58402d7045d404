#!/bin/bash
# FreeRADIUS: the site's clients and the probe user, then start.
set -euo pipefail
. lib/onsite.sh
d=/etc/freeradius/3.0
changed=0
clients=$(bash render/radius-clients.sh)
users=$(bash render/radius-users.sh)
put_file "$d/clients.conf" 0640 root:freerad <<< "$clients" && changed=1
put_file "$d/mods-config/files/onsite" 0640 root:freerad <<< "$users" && changed=1
# shellcheck disable=SC2016  # a literal FreeRADIUS $INCLUDE line, not an expansion
if ! grep -qx '\$INCLUDE onsite' "$d/mods-config/files/authorize"; then
    # shellcheck disable=SC2016
    { echo '$INCLUDE onsite'; cat "$d/mods-config/files/authorize"; } > "$d/mods-config/files/authorize.onsite"
    chmod 0640 "$d/mods-config/files/authorize.onsite"
    chown root:freerad "$d/mods-config/files/authorize.onsite"
    mv -f "$d/mods-config/files/authorize.onsite" "$d/mods-config/files/authorize"
    changed=1
fi
freeradius -C > /dev/null || { freeradius -C >&2 || true; die "the FreeRADIUS configuration does not load"; }
if [ "$changed" = 1 ]; then svc_apply radius; else svc_start radius; fi
. lib/radius.sh
wait_for 30 "RADIUS answering the probe on this node" radius_probe 127.0.0.1
