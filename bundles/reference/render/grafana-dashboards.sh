#!/bin/bash
# Grafana (vendor payload): load the dashboards onsite renders.
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
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
