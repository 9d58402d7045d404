#!/bin/bash
. ./steps/common.sh
ran
echo "checking for $T/fail-here"
if [ -e "$T/fail-here" ]; then
    echo "boom: $T/fail-here is set" >&2
    exit 3
fi
done_marker
