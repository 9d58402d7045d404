#!/bin/bash
set -euo pipefail
! grep -qxF -- "# BEGIN onsite $ONSITE_SITE" /etc/hosts
