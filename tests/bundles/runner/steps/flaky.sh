#!/bin/bash
# Fails the first time it runs on a node, then succeeds.
. ./steps/common.sh
ran
if [ ! -f "$T/flaky.tried" ]; then
    touch "$T/flaky.tried"
    echo "first try fails on purpose" >&2
    exit 1
fi
done_marker
