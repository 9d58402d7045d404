#!/bin/bash
# Dante: SOCKS5 (CONNECT, BIND, UDP ASSOCIATE) for clients in the plan's subnet.
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
logoutput: stderr
internal: $ONSITE_NODE_NIC port = $ONSITE_PORT_SOCKS5_SOCKS
external: $ONSITE_NODE_NIC
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody

client pass {
	from: $ONSITE_SUBNET to: 0.0.0.0/0
	log: error
}

socks pass {
	from: $ONSITE_SUBNET to: 0.0.0.0/0
	command: bind connect udpassociate
	log: error
}

socks pass {
	from: 0.0.0.0/0 to: $ONSITE_SUBNET
	command: bindreply udpreply
	log: error
}
CONF
