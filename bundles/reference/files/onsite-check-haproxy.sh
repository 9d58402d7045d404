#!/bin/bash
# keepalived check for the Kubernetes API VIP: HAProxy runs on this node.
for comm in /proc/[0-9]*/comm; do
    [ "$(cat "$comm" 2>/dev/null)" = haproxy ] && exit 0
done
exit 1
