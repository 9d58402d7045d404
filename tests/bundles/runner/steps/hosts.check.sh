#!/bin/bash
. ./steps/common.sh
grep -q " $ONSITE_NODE\$" "$T/hosts" 2>/dev/null
