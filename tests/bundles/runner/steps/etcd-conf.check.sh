#!/bin/bash
. ./steps/common.sh
grep -q "^name=$ONSITE_NODE\$" "$T/etcd.conf" 2>/dev/null
