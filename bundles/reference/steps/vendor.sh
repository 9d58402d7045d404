#!/bin/bash
# A vendor component from its payload (see README "Vendor payloads"):
#   1. unpack payload/<name>.tar.gz into /opt/onsite/<name> (again only when
#      the payload changed);
#   2. render this node's configuration from the plan into /etc/onsite/<name>;
#   3. run the payload's own onsite-install.sh PHASE with the plan's ONSITE_*
#      variables and ONSITE_CONFIG_DIR; PHASE is "node" (every node of the
#      component) or "cluster" (once, after every node's "node" phase).
set -euo pipefail
. lib/onsite.sh
. lib/vendor.sh
vendor_setup
if ! vendor_unpacked; then
    rm -rf "$VENDOR_DIR.new"
    mkdir -p "$VENDOR_DIR.new"
    tar -xzf "payload/$VENDOR_NAME.tar.gz" -C "$VENDOR_DIR.new" --no-same-owner
    [ -f "$VENDOR_DIR.new/onsite-install.sh" ] || die "payload/$VENDOR_NAME.tar.gz has no onsite-install.sh at its top"
    sha256sum < "payload/$VENDOR_NAME.tar.gz" | cut -d' ' -f1 > "$VENDOR_DIR.new/.onsite-payload"
    rm -rf "$VENDOR_DIR"
    mv "$VENDOR_DIR.new" "$VENDOR_DIR"
    echo "unpacked payload/$VENDOR_NAME.tar.gz into $VENDOR_DIR"
fi
for spec in "${VENDOR_CONFIGS[@]}"; do
    conf=$(bash "render/${spec%%:*}")
    put_file "$VENDOR_CONFIG_DIR/${spec#*:}" 0640 root:root <<< "$conf" || true
done
export ONSITE_CONFIG_DIR=$VENDOR_CONFIG_DIR
cd "$VENDOR_DIR"
bash ./onsite-install.sh "$VENDOR_PHASE"
mkdir -p "$STATE_DIR/vendor"
echo "$VENDOR_PHASE" > "$STATE_DIR/vendor/$ONSITE_STEP.done"
