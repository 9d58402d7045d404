#!/bin/bash
# Prometheus and Alertmanager on the monitoring node, their files checked
# with promtool and amtool before either (re)starts.
set -euo pipefail
. lib/onsite.sh
prom=0 am=0
conf=$(bash render/prometheus.sh)
put_file /etc/prometheus/prometheus.yml 0644 root:root <<< "$conf" && prom=1
conf=$(bash render/prometheus-rules.sh)
put_file /etc/prometheus/onsite-rules.yml 0644 root:root <<< "$conf" && prom=1
conf=$(bash render/prometheus-defaults.sh)
put_file /etc/default/prometheus 0644 root:root <<< "$conf" && prom=1
conf=$(bash render/alertmanager.sh)
put_file /etc/prometheus/alertmanager.yml 0644 root:root <<< "$conf" && am=1
conf=$(bash render/alertmanager-defaults.sh)
put_file /etc/default/prometheus-alertmanager 0644 root:root <<< "$conf" && am=1
promtool check config /etc/prometheus/prometheus.yml || die "promtool rejects /etc/prometheus/prometheus.yml or its rules (it says why above)"
amtool check-config /etc/prometheus/alertmanager.yml || die "amtool rejects /etc/prometheus/alertmanager.yml (it says why above)"
install -d -o prometheus -g prometheus -m 0755 /var/lib/prometheus/metrics2 /var/lib/prometheus/alertmanager
if [ "$am" = 1 ]; then svc_apply alertmanager; else svc_start alertmanager; fi
if [ "$prom" = 1 ]; then svc_apply prometheus; else svc_start prometheus; fi
ready() { http_has "$ONSITE_NODE_ADDRESS" "$1" "$2" ".*$3.*"; }
wait_for 60 "Alertmanager ready" ready "$ONSITE_PORT_PROMETHEUS_ALERTMANAGER" /-/ready OK
wait_for 60 "Prometheus ready" ready "$ONSITE_PORT_PROMETHEUS_HTTP" /-/ready Ready
