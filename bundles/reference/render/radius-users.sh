#!/bin/bash
# The probe user health checks and `onsite verify` authenticate as.
set -euo pipefail
. lib/onsite.sh
cat <<CONF
# Written by onsite for site $ONSITE_SITE; changes here are overwritten.
onsite-probe	Cleartext-Password := $(radius_str "$(probe_password)")
	Reply-Message := "onsite probe"
CONF
