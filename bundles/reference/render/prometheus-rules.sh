#!/bin/bash
# Alert rules for the stack, from the plan: a target down, a VIP held by no
# node or by two, the service VIP on the escape node, Patroni without a
# leader or with a standby lagging, Sentinel without quorum, an etcd member
# down, a disk fuller than the guide's 95 %. Checked with promtool.
set -euo pipefail
. lib/onsite.sh
site=$(one_line site.name "$ONSITE_SITE")
. lib/monitoring.sh
for_=${ALERT_AFTER}s
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
groups:
  - name: onsite-targets
    rules:
      - alert: OnsiteTargetDown
        # A scrape fails, or an exporter cannot reach its service.
        expr: up == 0 or redis_up == 0 or pg_up == 0
        for: $for_
        labels: {severity: critical}
        annotations:
          summary: '{{ \$labels.job }} on {{ \$labels.node }} ({{ \$labels.instance }}) does not answer'
      - alert: OnsiteDiskFull
        expr: >-
          100 * (node_filesystem_size_bytes - node_filesystem_free_bytes)
          / (node_filesystem_size_bytes - node_filesystem_free_bytes + node_filesystem_avail_bytes)
          > $ONSITE_SETTING_PROMETHEUS_DISK_FULL_PERCENT
        for: $for_
        labels: {severity: critical}
        annotations:
          summary: '{{ \$labels.mountpoint }} on {{ \$labels.node }} is {{ \$value | printf "%.0f" }} % full'
CONF
if [ -n "$ONSITE_VIPS" ]; then
    cat <<CONF
  - name: onsite-vips
    rules:
      # onsite_vip_held{vip,address,escape}: 1 on the node holding the VIP
      # (steps/node-exporter.sh writes it on every VIP member).
      - alert: OnsiteVipNotHeld
        expr: sum by (vip, address) (onsite_vip_held) == 0
        for: $for_
        labels: {severity: critical}
        annotations:
          summary: 'no node holds VIP {{ \$labels.vip }} ({{ \$labels.address }}), or its holder does not report'
      - alert: OnsiteVipHeldTwice
        expr: sum by (vip, address) (onsite_vip_held) > 1
        for: $for_
        labels: {severity: critical}
        annotations:
          summary: '{{ \$value }} nodes hold VIP {{ \$labels.vip }} ({{ \$labels.address }})'
      - alert: OnsiteServiceVipOnEscapeNode
        # The escape node takes a VIP only when every cluster node's checks fail.
        expr: onsite_vip_held{escape="true"} == 1
        for: $for_
        labels: {severity: critical}
        annotations:
          summary: 'VIP {{ \$labels.vip }} ({{ \$labels.address }}) is on the escape node {{ \$labels.node }}: the cluster does not serve'
      - alert: OnsiteVipFactsStale
        expr: time() - node_textfile_mtime_seconds{file=~".*onsite_vip[.]prom"} > $((3 * SCRAPE + 10))
        for: $for_
        labels: {severity: warning}
        annotations:
          summary: 'onsite-vip-facts on {{ \$labels.node }} stopped writing: its VIP facts are old'
CONF
fi
if ! is_external patroni && [ -n "$(role_nodes postgres)" ]; then
    cat <<CONF
  - name: onsite-patroni
    rules:
      - alert: OnsitePatroniNoLeader
        # Each member reports its own role; not patroni_cluster_unlocked: a
        # standby reports the view of its last loop (loop_wait), so after a
        # failover in a second it may still say "unlocked" for seconds.
        expr: (sum(patroni_primary) or vector(0)) < 1
        for: $for_
        labels: {severity: critical}
        annotations:
          summary: 'Patroni has no leader: PostgreSQL takes no writes'
      - alert: OnsitePatroniTwoLeaders
        expr: sum(patroni_primary) > 1
        for: $for_
        labels: {severity: critical}
        annotations:
          summary: '{{ \$value }} Patroni members claim to lead'
      - alert: OnsitePostgresNotRunning
        expr: patroni_postgres_running == 0
        for: $for_
        labels: {severity: critical}
        annotations:
          summary: 'Patroni on {{ \$labels.node }} runs, its PostgreSQL does not'
      - alert: OnsitePatroniStandbyLagging
        # Further behind than this, Patroni does not promote the standby.
        expr: >-
          scalar(max(patroni_xlog_location and on (instance) patroni_primary == 1))
          - (patroni_xlog_replayed_location and on (instance) patroni_replica == 1)
          > $ONSITE_SETTING_PROMETHEUS_STANDBY_LAG_BYTES
        for: $for_
        labels: {severity: warning}
        annotations:
          summary: 'the standby on {{ \$labels.node }} is {{ \$value | humanize1024 }}B behind its leader'
CONF
fi
if ! is_external sentinel && ! is_external redis-exporter && [ -n "$(role_nodes sentinel)" ]; then
    quorum=$(($(count_of "$(role_nodes sentinel)") / 2 + 1))
    cat <<CONF
  - name: onsite-sentinel
    rules:
      - alert: OnsiteSentinelNoQuorum
        # CKQUORUM fails on a Sentinel, or fewer than $quorum Sentinels answer.
        expr: redis_sentinel_master_ckquorum_status == 0 or count(redis_up{job="sentinel"} == 1) < $quorum
        for: $for_
        labels: {severity: critical}
        annotations:
          summary: 'Redis Sentinel has no quorum: a failed Redis primary would not be replaced'
CONF
fi
if ! is_external etcd && [ -n "$(role_nodes etcd)" ]; then
    cat <<CONF
  - name: onsite-etcd
    rules:
      - alert: OnsiteEtcdMemberDown
        expr: up{job="etcd"} == 0 or etcd_server_has_leader == 0
        for: $for_
        labels: {severity: critical}
        annotations:
          summary: 'etcd member on {{ \$labels.node }} is down or has no leader'
CONF
fi
