#!/bin/bash
# RADIUS answers through the service VIP.
set -euo pipefail
. lib/onsite.sh
. lib/radius.sh
wait_for 60 "RADIUS through the service VIP $ONSITE_VIP_SERVICE_ADDRESS" radius_probe "$ONSITE_VIP_SERVICE_ADDRESS"
echo "RADIUS answers on $ONSITE_VIP_SERVICE_ADDRESS"
