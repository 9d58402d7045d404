# shellcheck shell=bash
# Which payload, configuration files and phase each vendor step has.

# shellcheck disable=SC2034  # the step scripts that source this use them
vendor_setup() {
    VENDOR_PHASE=node
    case $ONSITE_STEP in
        kubernetes) VENDOR_NAME=kubernetes VENDOR_CONFIGS=("kubeadm.sh:kubeadm-config.yaml") ;;
        rocketmq-namesrv) VENDOR_NAME=rocketmq VENDOR_CONFIGS=("rocketmq-namesrv.sh:namesrv.properties") ;;
        rocketmq-broker) VENDOR_NAME=rocketmq VENDOR_CONFIGS=("rocketmq-broker.sh:broker.conf") ;;
        doris-fe) VENDOR_NAME=doris VENDOR_CONFIGS=("doris-fe.sh:fe.conf") ;;
        doris-be) VENDOR_NAME=doris VENDOR_CONFIGS=("doris-be.sh:be.conf") ;;
        mongodb) VENDOR_NAME=mongodb VENDOR_CONFIGS=("mongod.sh:mongod.conf" "mongo-rs.sh:rs-initiate.js") ;;
        mongodb-replica-set) VENDOR_NAME=mongodb VENDOR_CONFIGS=("mongod.sh:mongod.conf" "mongo-rs.sh:rs-initiate.js") VENDOR_PHASE=cluster ;;
        portal) VENDOR_NAME=portal VENDOR_CONFIGS=() ;;
        grafana) VENDOR_NAME=grafana VENDOR_CONFIGS=("grafana-datasource.sh:provisioning/datasources/onsite.yaml"
                                                     "grafana-dashboards.sh:provisioning/dashboards/onsite.yaml"
                                                     "grafana-dashboard.sh:dashboards/onsite-stack.json") ;;
        *) die "step $ONSITE_STEP is not a vendor step" ;;
    esac
    VENDOR_DIR=/opt/onsite/$VENDOR_NAME
    VENDOR_CONFIG_DIR=/etc/onsite/$VENDOR_NAME
}

vendor_unpacked() {
    [ -f "$VENDOR_DIR/.onsite-payload" ] &&
        [ "$(cat "$VENDOR_DIR/.onsite-payload")" = "$(sha256sum < "payload/$VENDOR_NAME.tar.gz" | cut -d' ' -f1)" ]
}
