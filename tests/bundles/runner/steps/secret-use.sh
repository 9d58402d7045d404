#!/bin/bash
# Uses a secret; prints it, so the test can prove logs mask it.
. ./steps/common.sh
echo "connecting with password $ONSITE_SECRET_POSTGRES_SUPERUSER"
printf '%s' "$ONSITE_SECRET_POSTGRES_SUPERUSER" | sha256sum | cut -d' ' -f1 > "$T/secret.sha"
ran
done_marker
{ env | grep -o '^ONSITE_SECRET_[A-Z_]*' || true; } | sort > "$T/secrets-seen.secret-use"
