#!/bin/bash
# The probe user health checks and `onsite verify` authenticate as.
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
pw=$(radius_str secrets.radius_shared_secret "$(probe_password)")
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
onsite-probe	Cleartext-Password := $pw
	Reply-Message := "onsite probe"
CONF
