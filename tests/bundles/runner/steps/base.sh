#!/bin/bash
. ./steps/common.sh
mkdir -p "$T"
echo "$ONSITE_NODE" > "$T/node"
ran
