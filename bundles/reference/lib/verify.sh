# shellcheck shell=bash
# Helpers for the bundle's verify scripts (sourced). A verify script ends
# with one verdict line that `onsite verify` reads; everything else it prints
# is ignored.
#
#   verdict STATUS SUMMARY [HINT] [DETAILS-JSON]
#
# STATUS: ok | failed | warn. The JSON is built by python3 from arguments, so
# no value is ever spliced into JSON text.
verdict() {
    python3 - "$@" <<'PY'
import json, sys
status, summary = sys.argv[1], sys.argv[2]
hint = sys.argv[3] if len(sys.argv) > 3 else ""
try:
    details = json.loads(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] else {}
except ValueError:
    details = {"raw": sys.argv[4][:500]}
print("ONSITE-RESULT " + json.dumps({"status": status, "summary": summary, "hint": hint, "details": details}))
PY
}
