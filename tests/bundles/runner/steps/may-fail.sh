#!/bin/bash
. ./steps/common.sh
ran
echo "checking for $T/fail-here"
if [ -e "$T/fail-here" ]; then
    echo "boom: $T/fail-here is set" >&2
    cat "$T/fail-here" >&2  # what a test put there (terminal escapes, say)
    exit 3
fi
done_marker
