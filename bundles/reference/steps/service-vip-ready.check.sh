#!/bin/bash
# RADIUS answers through the service VIP.
set -euo pipefail
. lib/onsite.sh
. lib/radius.sh
radius_probe "$ONSITE_VIP_SERVICE_ADDRESS"
