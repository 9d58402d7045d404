#!/bin/bash
. ./steps/common.sh
[ "$(cat "$T/node" 2>/dev/null)" = "$ONSITE_NODE" ]
