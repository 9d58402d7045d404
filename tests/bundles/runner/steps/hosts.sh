#!/bin/bash
. ./steps/common.sh
: > "$T/hosts.tmp"
for n in $ONSITE_NODES; do
    var="ONSITE_NODE_$(echo "$n" | tr 'a-z-' 'A-Z_')_ADDRESS"
    echo "${!var} $n" >> "$T/hosts.tmp"
done
mv "$T/hosts.tmp" "$T/hosts"
ran
{ env | grep -o '^ONSITE_SECRET_[A-Z_]*' || true; } | sort > "$T/secrets-seen.hosts"
