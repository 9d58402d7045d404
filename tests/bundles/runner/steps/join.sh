#!/bin/bash
# Serial across nodes: the test proves it from the journal's start/end times.
. ./steps/common.sh
sleep 0.3
ran
done_marker
