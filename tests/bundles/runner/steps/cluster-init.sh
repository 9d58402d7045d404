#!/bin/bash
. ./steps/common.sh
echo "$ONSITE_NODE" > "$T/cluster-owner"
ran
done_marker
