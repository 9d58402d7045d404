#!/bin/bash
# The replica set's initiate document (mongosh), run once on the first node.
set -euo pipefail
. lib/onsite.sh
# The name goes into JavaScript unquoted by anything but its own quotes.
rs=$(word components.mongodb.replica_set "$ONSITE_SETTING_MONGODB_REPLICA_SET")
members=() id=0
for a in $(role_addresses mongodb); do
    members+=("{ _id: $id, host: \"$a:$ONSITE_PORT_MONGODB_MONGOD\" }")
    id=$((id + 1))
done
printf 'rs.initiate({ _id: "%s", members: [%s] })\n' "$rs" "$(join ", " "${members[@]}")"
