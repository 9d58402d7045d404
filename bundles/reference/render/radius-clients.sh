#!/bin/bash
# FreeRADIUS clients: the plan's subnet (network devices, the VIP holders'
# neighbours, the installer's verify) and localhost (health checks), both
# with the site's shared secret. Replaces Debian's example clients.conf.
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
secret=$(radius_str secrets.radius_shared_secret "$ONSITE_SECRET_RADIUS_SHARED_SECRET")
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
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
