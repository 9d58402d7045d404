#!/bin/bash
# Set the node's hostname to the planned one, now and after a reboot.
set -euo pipefail
echo "$ONSITE_NODE" > /etc/hostname
hostname "$ONSITE_NODE"
echo "hostname is $(hostname)"
