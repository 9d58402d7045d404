#!/bin/bash
. ./steps/common.sh
[ -f "$T/$ONSITE_STEP.ok" ]
