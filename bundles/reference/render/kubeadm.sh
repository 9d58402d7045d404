#!/bin/bash
# kubeadm's configuration: the control-plane endpoint is the API VIP (IP5)
# on HAProxy's port; etcd is the plan's etcd cluster (external to kubeadm).
set -euo pipefail
. lib/onsite.sh
eps=() sans=("$ONSITE_VIP_K8S_API_ADDRESS")
for a in $(role_addresses etcd); do eps+=("http://$a:$ONSITE_PORT_ETCD_CLIENT"); done
for a in $(role_addresses k8s-master); do sans+=("$a"); done
site=$(one_line site.name "$ONSITE_SITE")
cluster=$(yaml_str site.name "$ONSITE_SITE")
pods=$(yaml_str network.pod_subnet "$ONSITE_POD_SUBNET")
services=$(yaml_str network.service_subnet "$ONSITE_SERVICE_SUBNET")
cat <<CONF
# Written by onsite for site $site; changes here are overwritten.
apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: $ONSITE_NODE_ADDRESS
  bindPort: $ONSITE_PORT_KUBE_APISERVER_API
nodeRegistration:
  name: $ONSITE_NODE
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
clusterName: $cluster
controlPlaneEndpoint: "$ONSITE_VIP_K8S_API_ADDRESS:$ONSITE_PORT_HAPROXY_FRONTEND"
apiServer:
  certSANs: [$(join ", " "${sans[@]}")]
etcd:
  external:
    endpoints: [$(join ", " "${eps[@]}")]
networking:
  podSubnet: $pods
  serviceSubnet: $services
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
port: $ONSITE_PORT_KUBELET_API
CONF
