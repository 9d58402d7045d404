"""onsite verify on the monitoring node: Prometheus scrapes every target,
every exporter reaches its service, the rules load, Alertmanager is ready
and no alert fires. Prints one line: ONSITE-RESULT {json}.

Reads the plan's ONSITE_* variables (the node's address, the ports) and
ONSITE_VERIFY_WAIT / ONSITE_VERIFY_EVERY (seconds) from verify/prometheus.sh.
"""

import json
import os
import time
import urllib.parse
import urllib.request

ENV = os.environ
ADDR = ENV["ONSITE_NODE_ADDRESS"]
PROM = f"http://{ADDR}:{ENV['ONSITE_PORT_PROMETHEUS_HTTP']}"
AM = f"http://{ADDR}:{ENV['ONSITE_PORT_PROMETHEUS_ALERTMANAGER']}"
WAIT = float(ENV.get("ONSITE_VERIFY_WAIT", "30"))
EVERY = float(ENV.get("ONSITE_VERIFY_EVERY", "2"))


def get(url: str, path: str, **params: str):
    query = ("?" + urllib.parse.urlencode(params)) if params else ""
    with urllib.request.urlopen(url + path + query, timeout=5) as resp:
        body = resp.read()
    return json.loads(body)["data"] if body.startswith(b"{") else body.decode(errors="replace")


def where(labels: dict) -> str:
    return f"{labels.get('job', '?')} on {labels.get('node', labels.get('instance', '?'))}"


def look() -> dict:
    state: dict = {}
    targets = get(PROM, "/api/v1/targets", state="active")["activeTargets"]
    state["total"] = len(targets)
    state["down"] = sorted(f"{where(t['labels'])} ({t['scrapeUrl']}): {t.get('lastError') or t['health']}"
                           for t in targets if t["health"] != "up")
    # An exporter answers while its service does not: redis_up / pg_up 0.
    unreachable = get(PROM, "/api/v1/query", query="redis_up == 0 or pg_up == 0")["result"]
    state["down"] += sorted(f"{where(r['metric'])}: the exporter cannot reach {r['metric'].get('__name__', '?')[:-3]}"
                            for r in unreachable)
    alerts = get(PROM, "/api/v1/alerts")["alerts"]
    state["firing"] = sorted(f"{a['labels']['alertname']} {a['annotations'].get('summary', '')}".strip()
                             for a in alerts if a["state"] == "firing")
    state["pending"] = sorted(a["labels"]["alertname"] for a in alerts if a["state"] == "pending")
    groups = get(PROM, "/api/v1/rules")["groups"]
    rules = [r for g in groups for r in g["rules"]]
    state["rules"] = len(rules)
    state["bad_rules"] = sorted(f"{r['name']}: {r.get('lastError', '')}" for r in rules if r.get("health") == "err")
    vips = get(PROM, "/api/v1/query", query="sum by (vip, address) (onsite_vip_held)")["result"]
    state["vips"] = {r["metric"].get("vip", "?"): int(float(r["value"][1])) for r in vips}
    try:
        get(AM, "/-/ready")  # 200 when ready, else an HTTPError
        state["alertmanager"] = True
    except OSError:
        state["alertmanager"] = False
    return state


def main() -> None:
    endpoints = {"prometheus": PROM, "alertmanager": AM}
    grafana_port = ENV.get("ONSITE_PORT_GRAFANA_HTTP")
    if grafana_port and "grafana" not in ENV.get("ONSITE_EXTERNAL", "").split() and \
            os.path.exists("/opt/onsite/grafana/.onsite-payload"):
        endpoints["grafana"] = f"http://{ADDR}:{grafana_port}"
    deadline = time.monotonic() + WAIT
    state: dict = {}
    error = ""
    while True:
        try:
            state, error = look(), ""
            good = (state["total"] and not state["down"] and not state["firing"] and not state["pending"]
                    and state["alertmanager"] and not state["bad_rules"])
        except (OSError, ValueError, KeyError) as exc:
            good, error = False, f"{type(exc).__name__}: {exc}"
        if good or time.monotonic() >= deadline:
            break
        time.sleep(EVERY)
    details: dict = {"endpoints": endpoints}
    if error:
        result = {"status": "failed", "summary": f"Prometheus at {PROM} does not answer its API ({error})",
                  "hint": "look at /var/log/onsite/prometheus.log (or journalctl -u prometheus) on this node"}
    else:
        details.update({"targets": {"total": state["total"], "down": state["down"]},
                        "alerts": {"firing": state["firing"], "pending": state["pending"]},
                        "rules": state["rules"], "vips_held": state["vips"],
                        "alertmanager_ready": state["alertmanager"]})
        problems = []
        if not state["total"]:
            problems.append("Prometheus has no targets")
        if state["down"]:
            problems.append(f"{len(state['down'])} of {state['total']} targets down: " + "; ".join(state["down"][:5]))
        if state["firing"]:
            problems.append(f"{len(state['firing'])} alerts firing: " + "; ".join(state["firing"][:5]))
        if state["bad_rules"]:
            problems.append("rules failing: " + "; ".join(state["bad_rules"][:3]))
        if not state["alertmanager"]:
            problems.append(f"Alertmanager at {AM} is not ready")
        if problems:
            result = {"status": "failed", "summary": "; ".join(problems),
                      "hint": f"see {PROM}/targets and {PROM}/alerts; each alert's summary names the node"}
        elif state["pending"]:
            result = {"status": "warn",
                      "summary": f"all {state['total']} targets up; alerts pending: {', '.join(state['pending'])}",
                      "hint": f"run onsite verify again in a minute; see {PROM}/alerts"}
        else:
            result = {"status": "ok",
                      "summary": f"all {state['total']} targets up, {state['rules']} rules loaded, no alert firing"}
    result["details"] = details
    print("ONSITE-RESULT " + json.dumps(result, sort_keys=True))


main()
