# shellcheck shell=bash
# The monitoring settings, checked: they land in Prometheus' files and
# command lines. SCRAPE: seconds between scrapes and rule evaluations;
# ALERT_AFTER: seconds a condition lasts before its alert fires.
# shellcheck disable=SC2034  # the scripts that source this use them
{
    need_int prometheus.scrape_interval "$ONSITE_SETTING_PROMETHEUS_SCRAPE_INTERVAL"
    need_int prometheus.alert_after "$ONSITE_SETTING_PROMETHEUS_ALERT_AFTER"
    need_int prometheus.disk_full_percent "$ONSITE_SETTING_PROMETHEUS_DISK_FULL_PERCENT"
    need_int prometheus.standby_lag_bytes "$ONSITE_SETTING_PROMETHEUS_STANDBY_LAG_BYTES"
    need_duration prometheus.retention "$ONSITE_SETTING_PROMETHEUS_RETENTION"
    SCRAPE=$((10#$ONSITE_SETTING_PROMETHEUS_SCRAPE_INTERVAL))
    [ "$SCRAPE" -ge 1 ] || die "setting prometheus.scrape_interval must be at least 1"
    SCRAPE_TIMEOUT=$((SCRAPE < 10 ? SCRAPE : 10))
    ALERT_AFTER=$((10#$ONSITE_SETTING_PROMETHEUS_ALERT_AFTER))
}

# The monitoring node's address (Prometheus, Alertmanager, Grafana).
monitoring_address() { node_address "$(first_of "$(role_nodes monitoring)")"; }
