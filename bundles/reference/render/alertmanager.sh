#!/bin/bash
# Alertmanager on the monitoring node: one route, to a receiver the site
# fills in (mail, webhook, ...); until then alerts show in its web UI.
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
. lib/monitoring.sh
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
# Add a notifier (email_configs, webhook_configs, ...) under the receiver.
route:
  receiver: onsite
  group_by: [alertname, node, vip]
  group_wait: ${SCRAPE}s
  group_interval: $((SCRAPE * 5))s
  repeat_interval: 4h
receivers:
  - name: onsite
CONF
