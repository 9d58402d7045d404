#!/bin/bash
# Grafana (vendor payload): load the dashboards onsite renders.
set -euo pipefail
. lib/onsite.sh
cat <<CONF
# Written by onsite for site $ONSITE_SITE; changes here are overwritten.
apiVersion: 1
providers:
  - name: onsite
    folder: onsite
    type: file
    disableDeletion: true
    allowUiUpdates: false
    options:
      path: /etc/onsite/grafana/dashboards
CONF
