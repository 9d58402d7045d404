#!/bin/bash
# Keepalived: one VRRP instance per VIP this node is a member of, unicast to
# the other members, each tracking its VIP's check script.
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
global_defs {
	router_id $ONSITE_NODE
	script_user root
	enable_script_security
}
CONF
for vip in $ONSITE_VIPS; do
    p="ONSITE_VIP_$(upper "$vip")"
    prio="${p}_PRIORITY"
    [ "${!prio}" != 0 ] || continue
    addr="${p}_ADDRESS" rid="${p}_ROUTER_ID" members="${p}_MEMBERS" check="${p}_CHECK"
    interval="${p}_INTERVAL" fall="${p}_FALL" rise="${p}_RISE"
    id=$(printf '%s' "$vip" | tr -c 'a-zA-Z0-9\n' '_')
    cat <<CONF

vrrp_script check_$id {
	script "/etc/keepalived/onsite-check-${!check}.sh"
	interval ${!interval}
	timeout ${!interval}
	fall ${!fall}
	rise ${!rise}
}

vrrp_instance $id {
	state BACKUP
	interface $ONSITE_NODE_NIC
	virtual_router_id ${!rid}
	priority ${!prio}
	advert_int 1
	unicast_src_ip $ONSITE_NODE_ADDRESS
	unicast_peer {
CONF
    for m in ${!members}; do
        [ "$m" = "$ONSITE_NODE" ] || printf '\t\t%s\n' "$(node_address "$m")"
    done
    cat <<CONF
	}
	virtual_ipaddress {
		${!addr}/$ONSITE_PREFIX dev $ONSITE_NODE_NIC
	}
	track_script {
		check_$id
	}
}
CONF
done
