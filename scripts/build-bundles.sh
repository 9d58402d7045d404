#!/usr/bin/env bash
# Build the reference system's bundles into OUT (default: bundles-out/):
#   OUT/base        hostname, /etc/hosts, VIP kernel setting, reachability
#   OUT/reference   etcd, Patroni, Redis + Sentinel, FreeRADIUS, Dante,
#                   HAProxy, keepalived, Prometheus + Alertmanager and the
#                   exporters, with their Debian packages
# Needs apt with Debian 12 sources (it downloads the packages: about 175 MB).
# Vendor payloads (Kubernetes, MongoDB, Grafana, ...) go into bundles/reference/payload/
# before building; see README "Vendor payloads".
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/bundles-out}
onsite=${ONSITE:-$here/.venv/bin/onsite}
sign=()
if [ -n "${ONSITE_SIGN_KEY:-}" ]; then sign=(--sign "$ONSITE_SIGN_KEY"); fi
mkdir -p "$out"
rm -rf "$out/base" "$out/reference"
"$onsite" bundle build "$here/bundles/base" -o "$out/base" "${sign[@]}"
"$onsite" bundle build "$here/bundles/reference" -o "$out/reference" "${sign[@]}"
mapfile -t packages < <(grep -v '^#' "$here/bundles/reference/debs.txt")
"$onsite" bundle add-debs "$out/reference" "${packages[@]}" "${sign[@]}"
