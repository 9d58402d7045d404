"""The corpus of bad answer files.

Each case is the valid base file (tests/corpus/base.yaml) with one edit, or a
whole hostile file. Every case asserts the exact place (line:column and field
path), the problem code and the words of every error it reports, no more and
no less, and that the CLI prints it without a traceback and exits 2.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from installer.cli import main
from installer.model import validate

BASE = (Path(__file__).parent / "corpus" / "base.yaml").read_text()


@dataclasses.dataclass
class Case:
    id: str
    edits: list[tuple[str, str]] | None = None  # (old, new), each old occurs once
    text: str | bytes | None = None  # a whole file instead of edits
    expect: list[tuple[str, str, str, str]] = dataclasses.field(default_factory=list)
    # each: ("line:col", code, field path or "", words the message contains)

    def content(self) -> str | bytes:
        if self.text is not None:
            return self.text
        text = BASE
        for old, new in self.edits or []:
            assert text.count(old) == 1, f"{self.id}: edit target {old!r} occurs {text.count(old)} times"
            text = text.replace(old, new)
        return text


def alias_bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    return "\n".join(lines) + "\n"


HOSTILE = "$(touch /tmp/pwned); `id` ; rm -rf / #\x1b[31m"

CASES = [
    # -- the file itself ------------------------------------------------------
    Case("empty-file", text="", expect=[("1:1", "empty", "", "the file is empty")]),
    Case("only-comments", text="# nothing here\n", expect=[("1:1", "empty", "", "the file is empty")]),
    Case("not-a-mapping", text="- just\n- a list\n", expect=[("1:1", "not-a-mapping", "", "set of `key: value` sections")]),
    Case("scalar-document", text="hello\n", expect=[("1:1", "not-a-mapping", "", "set of `key: value` sections")]),
    Case("malformed-yaml", edits=[("  gateway: 10.20.30.1\n", "  gateway: [10.20.30.1\n")],
         expect=[("8:6", "yaml-syntax", "", "not valid YAML")]),
    Case("tab-indent", edits=[("  profile: reference\n", "\tprofile: reference\n")],
         expect=[("4:1", "yaml-syntax", "", "not valid YAML")]),
    Case("binary", text=b"version: 1\x00\x01\x02", expect=[("", "binary", "", "NUL bytes")]),
    Case("not-utf8", text=b"version: 1\nsite:\n  name: caf\xe9\n", expect=[("3:", "encoding", "", "not UTF-8")]),
    Case("huge-file", text="version: 1\n" + "# padding\n" * 120_000, expect=[("", "too-large", "", "larger than 1024 KiB")]),
    Case("alias-bomb", text=alias_bomb(), expect=[("2:8", "yaml-alias", "", "aliases (*name) are not allowed")]),
    Case("merge-key", edits=[("  name: Campus North\n", "  <<: {name: x}\n")], expect=[("3:3", "yaml-merge", "", "merge keys")]),
    Case("duplicate-key", edits=[("  profile: reference\n", "  profile: reference\n  name: Again\n")],
         expect=[("5:3", "yaml-duplicate-key", "", "'name' appears twice in the same section (first on line 3)")]),
    Case("python-tag", edits=[("  name: Campus North\n", "  name: !!python/object/apply:os.system ['id']\n")],
         expect=[("3:9", "yaml-tag", "", "YAML tag")]),
    Case("bool-key", edits=[("  IP6: 10.20.30.16\n", "  IP6: 10.20.30.16\n  yes: 1\n")],
         expect=[("17:3", "yaml-key", "", "key 'yes' is not text")]),
    # -- schema -----------------------------------------------------------------
    Case("wrong-version", edits=[("version: 1\n", "version: 2\n")], expect=[("1:10", "version", "version", "must be 1, found 2")]),
    Case("missing-section", edits=[("vips:\n", "vips_:\n")],
         expect=[("1:1", "missing", "", "`vips` is missing"), ("38:1", "unknown-key", "vips_", "unknown key 'vips_'")]),
    Case("unknown-top-key", edits=[("ports:\n", "prots:\n")],
         expect=[("49:1", "unknown-key", "prots", "did you mean 'ports'?")]),
    Case("unknown-node-key", edits=[("    nic: eth0\n    roles: [escape]", "    nics: eth0\n    roles: [escape]")],
         expect=[("35:5", "unknown-key", "nodes[3].nics", "did you mean 'nic'?")]),
    Case("wrong-type-port", edits=[("    ssh: {user: root, port: 22, auth: agent}\n  - name: node3", "    ssh: {user: root, port: twenty-two, auth: agent}\n  - name: node3")],
         expect=[("27:29", "type", "nodes[1].ssh.port", "expected a whole number, found text")]),
    Case("port-out-of-range", edits=[("  haproxy: {frontend: 16443}\n", "  haproxy: {frontend: 70000}\n")],
         expect=[("50:23", "range", "ports.haproxy.frontend", "70000 is out of range: a port is 1 to 65535")]),
    Case("bool-word-name", edits=[("  - name: escape\n", "  - name: no\n")],
         expect=[("33:11", "type", "nodes[3].name", "expected text, found true/false")]),
    Case("bad-ipv4", edits=[("  IP3: 10.20.30.13\n", "  IP3: 10.20.30.300\n")],
         expect=[("13:8", "pattern", "ips.IP3", "'10.20.30.300' is not an IPv4 address")]),
    Case("bad-cidr", edits=[("  subnet: 10.20.30.0/24\n", "  subnet: 10.20.30.0/33\n")],
         expect=[("6:11", "pattern", "network.subnet", "is not a subnet in CIDR form")]),
    Case("bad-hostname", edits=[("  - name: node3\n", "  - name: Node_3\n")],
         expect=[("28:11", "pattern", "nodes[2].name", "'Node_3' is not a valid node name")]),
    Case("hostname-trailing-newline", edits=[("  - name: node3\n", '  - name: "node3\\n"\n')],
         expect=[("28:11", "pattern", "nodes[2].name", "is not a valid node name")]),
    Case("bad-nic", edits=[("    nic: eth0\n    roles: [escape]", "    nic: eth0/../../x\n    roles: [escape]")],
         expect=[("35:10", "pattern", "nodes[3].nic", "is not a network interface name")]),
    Case("bad-slot-key", edits=[("  IP6: 10.20.30.16\n", "  IP6: 10.20.30.16\n  IPX: 10.20.30.17\n")],
         expect=[("17:3", "key-pattern", "ips.IPX", "key 'IPX' is not a named address")]),
    Case("bad-auth-enum", edits=[("    ssh: {user: root, port: 22, auth: agent}\n  - name: node3", "    ssh: {user: root, port: 22, auth: agnet}\n  - name: node3")],
         expect=[("27:39", "enum", "nodes[1].ssh.auth", "did you mean 'agent'?")]),
    Case("literal-password", edits=[("    ssh: {user: root, port: 22, auth: agent}\n  - name: escape", "    ssh: {user: root, port: 22, auth: password, password: Sup3rS3cret!}\n  - name: escape")],
         expect=[("32:59", "literal-secret", "nodes[2].ssh.password", "a secret is written here in clear")]),
    Case("literal-secret-section", edits=[("  redis_password: prompt\n", "  redis_password: hunter2\n")],
         expect=[("57:19", "literal-secret", "secrets.redis_password", "a secret is written here in clear")]),
    Case("bad-fingerprint", edits=[("    ssh: {user: root, port: 22, auth: agent}\n  - name: node2", "    ssh: {user: root, port: 22, auth: agent, host_key: MD5:aa:bb}\n  - name: node2")],
         expect=[("22:56", "pattern", "nodes[0].ssh.host_key", "is not an SSH host-key fingerprint")]),
    Case("control-chars-site-name", edits=[("  name: Campus North\n", '  name: "Campus\\x1b[2J North"\n')],
         expect=[("3:9", "pattern", "site.name", "contains control characters")]),
    Case("hostile-site-name", edits=[("  name: Campus North\n", f"  name: {json.dumps(HOSTILE)}\n")],
         expect=[("3:9", "pattern", "site.name", "contains control characters")]),
    Case("hostile-node-name", edits=[("  - name: node1\n", "  - name: \"node1;reboot\"\n")],
         expect=[("18:11", "pattern", "nodes[0].name", "is not a valid node name")]),
    Case("hostile-key-path", edits=[("    ssh: {user: root, port: 22, auth: agent}\n  - name: node2", "    ssh: {user: root, port: 22, auth: key, key: \"/tmp/k\\n; rm -rf /\"}\n  - name: node2")],
         expect=[("22:49", "pattern", "nodes[0].ssh.key", "is not a valid file path")]),
    Case("hostile-user", edits=[("    ssh: {user: root, port: 22, auth: agent}\n  - name: node2", "    ssh: {user: \"root$(id)\", port: 22, auth: agent}\n  - name: node2")],
         expect=[("22:17", "pattern", "nodes[0].ssh.user", "is not a valid user name")]),
    Case("hostile-setting", edits=[("  doris-be: {storage_root_path: /data/doris/be/storage}\n", "  doris-be: {storage_root_path: \"/data/$(reboot)\\n\"}\n")],
         expect=[("53:33", "type", "components.doris-be.storage_root_path", "expected text, a whole number or true/false")]),
    Case("duplicate-roles", edits=[("    roles: [escape]\n", "    roles: [escape, escape]\n")],
         expect=[("36:12", "duplicate", "nodes[3].roles", "lists 'escape' more than once")]),
    # -- semantics --------------------------------------------------------------
    Case("subnet-host-bits", edits=[("  subnet: 10.20.30.0/24\n", "  subnet: 10.20.30.5/24\n")],
         expect=[("6:11", "subnet-host-bits", "network.subnet", "did you mean 10.20.30.0/24?")]),
    Case("ip-outside-subnet", edits=[("  IP4: 10.20.30.14\n", "  IP4: 10.20.31.14\n")],
         expect=[("14:8", "outside-subnet", "ips.IP4", "IP4 (10.20.31.14) is outside the subnet 10.20.30.0/24")]),
    Case("gateway-outside", edits=[("  gateway: 10.20.30.1\n", "  gateway: 10.20.99.1\n")],
         expect=[("7:12", "gateway-outside", "network.gateway", "gateway 10.20.99.1 is outside the subnet")]),
    Case("gateway-is-node", edits=[("  gateway: 10.20.30.1\n", "  gateway: 10.20.30.12\n")],
         expect=[("12:8", "gateway-clash", "ips.IP2", "IP2 is the gateway's address")]),
    Case("gateway-broadcast", edits=[("  gateway: 10.20.30.1\n", "  gateway: 10.20.30.255\n")],
         expect=[("7:12", "gateway-reserved", "network.gateway", "broadcast address")]),
    Case("ip-is-ntp-server", edits=[("  ntp: [ntp.campus.example]\n", "  ntp: [ntp.campus.example, 10.20.30.13]\n")],
         expect=[("13:8", "server-clash", "ips.IP3", "IP3 (10.20.30.13) is the address of a NTP server (network.ntp[1])")]),
    Case("duplicate-ip", edits=[("  IP6: 10.20.30.16\n", "  IP6: 10.20.30.11\n")],
         expect=[("16:8", "duplicate-address", "ips.IP6", "IP6 has the same address as IP1 (10.20.30.11)")]),
    Case("network-address", edits=[("  IP5: 10.20.30.15\n", "  IP5: 10.20.30.0\n")],
         expect=[("15:8", "reserved-address", "ips.IP5", "network address")]),
    Case("missing-slot", edits=[("  IP6: 10.20.30.16\n", "")],
         expect=[("11:3", "missing-slot", "ips", "IP6 (Service VIP (RADIUS/portal)) has no address")]),
    Case("unknown-slot", edits=[("  IP6: 10.20.30.16\n", "  IP6: 10.20.30.16\n  IP7: 10.20.30.17\n")],
         expect=[("17:8", "unknown-slot", "ips.IP7", "IP7 is not on the IP sheet of profile reference")]),
    Case("vip-as-node-address", edits=[("    address: IP4\n", "    address: IP5\n")],
         expect=[("18:3", "slot-unused", "nodes", "IP4 (Escape server) has no node"),
                 ("34:14", "vip-as-node", "nodes[3].address", "IP5 is a VIP (Kubernetes API VIP), not a node address")]),
    Case("node-as-vip-address", edits=[("    address: IP6\n", "    address: IP4\n")],
         expect=[("44:14", "node-as-vip", "vips[1].address", "a VIP is never a node's own address")]),
    Case("two-nodes-one-address", edits=[("    address: IP3\n", "    address: IP2\n")],
         expect=[("18:3", "slot-unused", "nodes", "IP3 (Cluster node 3) has no node"),
                 ("29:14", "duplicate-node-address", "nodes[2].address", "IP2 is already the address of nodes[1]")]),
    Case("duplicate-hostname", edits=[("  - name: node3\n", "  - name: node2\n")],
         expect=[("28:11", "duplicate-node", "nodes[2].name", "node name 'node2' is used twice (also nodes[1])"),
                 ("46:29", "unknown-member", "vips[1].members[2]", "no node is named 'node3'"),
                 ("42:29", "unknown-member", "vips[0].members[2]", "no node is named 'node3'")]),
    Case("unknown-role", edits=[("    roles: [escape]\n", "    roles: [escpae]\n")],
         expect=[("18:3", "role-count", "nodes", "role escape (Escape server (standalone RADIUS/portal)) is on 0 nodes; the profile needs exactly 1"),
                 ("36:13", "unknown-role", "nodes[3].roles[0]", "did you mean 'escape'?"),
                 ("46:36", "member-role", "vips[1].members[3]", "node escape holds none of the roles service serves")]),
    Case("role-count", edits=[("rocketmq-broker, doris-fe, doris-be, radius, socks5, monitoring]", "rocketmq-broker, doris-be, radius, socks5, monitoring]")],
         expect=[("18:3", "role-count", "nodes", "role doris-fe (Doris FE follower) is on 2 nodes (node1, node2); the profile needs exactly 3")]),
    Case("vip-member-missing", edits=[("    members: [node1, node2, node3]\n", "    members: [node1, node2, node4]\n")],
         expect=[("42:29", "unknown-member", "vips[0].members[2]", "no node is named 'node4'")]),
    Case("vip-member-wrong-role", edits=[("    members: [node1, node2, node3]\n", "    members: [node1, node2, node3, escape]\n")],
         expect=[("42:36", "member-role", "vips[0].members[3]", "node escape holds none of the roles k8s-api serves (k8s-master)")]),
    Case("duplicate-router-id", edits=[("    router_id: 52\n", "    router_id: 51\n")],
         expect=[("45:16", "duplicate-router-id", "vips[1].router_id", "VRRP router id 51 is already used by vips[0]")]),
    Case("router-id-range", edits=[("    router_id: 52\n", "    router_id: 256\n")],
         expect=[("45:16", "range", "vips[1].router_id", "a VRRP router id is 1 to 255")]),
    Case("missing-vip", edits=[("  - name: service\n    address: IP6\n    router_id: 52\n    members: [node1, node2, node3, escape]\n    priorities: {node1: 150, node2: 140, node3: 130, escape: 50}\n    check: {interval: 10, fall: 6, rise: 2}\n", "")],
         expect=[("39:3", "missing-vip", "vips", "VIP service (RADIUS/portal service address, IP6) is not configured")]),
    Case("unknown-vip-name", edits=[("  - name: k8s-api\n", "  - name: k8s-apl\n")],
         expect=[("39:3", "missing-vip", "vips", "VIP k8s-api"), ("39:11", "unknown-vip", "vips[0].name", "did you mean 'k8s-api'?")]),
    Case("backup-priority", edits=[("escape: 50}", "escape: 200}")],
         expect=[("47:17", "backup-priority", "vips[1].priorities", "backup node escape has priority 200")]),
    Case("port-conflict", edits=[("  haproxy: {frontend: 16443}\n", "  haproxy: {frontend: 6443}\n")],
         expect=[("50:23", "port-conflict", "ports.haproxy.frontend", "on node node1, haproxy.frontend and kube-apiserver.api both use 6443/tcp"),
                 ("50:23", "port-conflict", "ports.haproxy.frontend", "on node node2"),
                 ("50:23", "port-conflict", "ports.haproxy.frontend", "on node node3")]),
    Case("unknown-port-name", edits=[("  haproxy: {frontend: 16443}\n", "  haproxy: {frontent: 16443}\n")],
         expect=[("50:13", "unknown-port", "ports.haproxy.frontent", "did you mean 'frontend'?")]),
    Case("unknown-component", edits=[("  doris-be: {storage_root_path", "  doris-b: {storage_root_path")],
         expect=[("53:3", "unknown-component", "components.doris-b", "did you mean 'doris-be'?")]),
    Case("bad-setting-choice", edits=[("flushDiskType: ASYNC_FLUSH", "flushDiskType: ASYNC")],
         expect=[("52:36", "enum", "components.rocketmq-broker.flushDiskType", "'ASYNC' is not one of SYNC_FLUSH, ASYNC_FLUSH")]),
    Case("setting-type", edits=[("  doris-be: {storage_root_path: /data/doris/be/storage}\n", "  doris-be: {max_disk_usage_percent: high}\n")],
         expect=[("53:38", "type", "components.doris-be.max_disk_usage_percent", "expected a whole number, found text")]),
    Case("secret-in-settings", edits=[("  doris-be: {storage_root_path: /data/doris/be/storage}\n", "  doris-be: {root_password: letmein}\n")],
         expect=[("53:14", "literal-secret", "components.doris-be.root_password", "looks like a secret")]),
    Case("missing-secret", edits=[("  redis_password: prompt\n", "")],
         expect=[("55:3", "missing-secret", "secrets", "secret redis_password (Redis and Sentinel password, for redis) has no reference")]),
    Case("password-auth-without-ref", edits=[("    ssh: {user: root, port: 22, auth: agent}\n  - name: escape", "    ssh: {user: root, port: 22, auth: password}\n  - name: escape")],
         expect=[("32:10", "missing-password", "nodes[2].ssh", "auth is password but no password reference")]),
    Case("unknown-profile", edits=[("  profile: reference\n", "  profile: referense\n")],
         expect=[("4:12", "unknown-profile", "site.profile", "did you mean 'reference'?")]),
]


def _write(tmp_path: Path, case: Case) -> Path:
    path = tmp_path / f"{case.id}.yaml"
    content = case.content()
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_corpus_is_large_enough():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


def test_base_file_is_valid():
    result = validate.validate_text(BASE, "base.yaml")
    assert result.ok, [p.render() for p in result.problems]
    assert not result.problems.warnings


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_answer_file(case: Case, tmp_path: Path, capsys):
    path = _write(tmp_path, case)
    result = validate.validate_file(path, display=path.name)
    errors = [p for p in result.problems.sorted() if p.is_error]
    assert len(errors) == len(case.expect), "\n".join(p.render() for p in errors)
    remaining = list(errors)
    for place, code, field, words in case.expect:
        match = None
        for p in remaining:
            where = f"{p.line}:{p.column}" if p.line else ""
            place_ok = where == place or (place.endswith(":") and where.startswith(place)) or (place == "" and p.line is None)
            field_ok = field == "" or p.to_json()["field"] == field
            if place_ok and p.code == code and field_ok and words in p.message + " " + p.hint:
                match = p
                break
        assert match is not None, f"expected {place} {code} {field} {words!r}; got:\n" + "\n".join(p.render() for p in remaining)
        remaining.remove(match)
        assert match.file == path.name
        assert match.hint, f"{case.id}: every error carries a hint"

    # The CLI reports the same, exits 2 and never shows a traceback.
    code = main(["validate", str(path)])
    out = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in out.out + out.err
    assert "\x1b" not in out.out + out.err, "no escape sequence from the file reaches the terminal"


def test_literal_secret_is_never_echoed(tmp_path: Path, capsys):
    case = next(c for c in CASES if c.id == "literal-password")
    path = _write(tmp_path, case)
    for fmt in ("text", "json"):
        assert main(["validate", str(path), "--format", fmt]) == 2
        out = capsys.readouterr()
        assert "Sup3rS3cret" not in out.out + out.err


def test_json_format_lists_problems(tmp_path: Path, capsys):
    case = next(c for c in CASES if c.id == "duplicate-ip")
    path = _write(tmp_path, case)
    assert main(["validate", str(path), "--format", "json"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False
    [p] = doc["problems"]
    assert (p["line"], p["column"], p["field"], p["code"]) == (16, 8, "ips.IP6", "duplicate-address")
