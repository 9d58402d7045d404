#!/bin/bash
. ./steps/common.sh
s=$(cat "$T/sleep" 2>/dev/null || echo 0)
echo "sleeping $s s"
sleep "$s"
ran
done_marker
