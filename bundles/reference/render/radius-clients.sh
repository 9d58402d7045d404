#!/bin/bash
# FreeRADIUS clients: the plan's subnet (network devices, the VIP holders'
# neighbours, the installer's verify) and localhost (health checks), both
# with the site's shared secret. Replaces Debian's example clients.conf.
set -euo pipefail
. lib/onsite.sh
secret=$(radius_str "$ONSITE_SECRET_RADIUS_SHARED_SECRET")
cat <<CONF
# Written by onsite for site $ONSITE_SITE; changes here are overwritten.
client localhost {
	ipaddr = 127.0.0.1
	secret = $secret
	shortname = localhost
}

client onsite-lan {
	ipaddr = $ONSITE_SUBNET
	secret = $secret
	shortname = onsite-lan
}
CONF
