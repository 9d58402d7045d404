"""Relay push on the lab: the installer sends once, the nodes pass it on."""

from __future__ import annotations

import json
import threading
import time

import pytest

from installer.cli import main
from installer.engine import push, relay
from installer.engine.events import TransferDone, TransferProgress

from .conftest import lab_validation, ssh_connections
from .test_push import clean, interrupt_when, make_bundle, part_size, remote_sha

pytestmark = pytest.mark.lab


def relay_traces(lab) -> dict[str, str]:
    out = {}
    for n in lab.nodes:
        res = lab.run(n.name, "grep -c onsite-relay /root/.ssh/authorized_keys; ls /var/lib/onsite/relay 2>/dev/null | wc -l",
                      check=False)
        out[n.name] = " ".join(res.stdout.split())
    return out


def test_relayed_push_leaves_verified_copies_and_no_key(lab, tmp_path):
    v = lab_validation(lab)
    b = make_bundle(tmp_path, "relayok", {"a.bin": 6 << 20, "dir/b c $(x).txt": b"odd name\n"})
    clean(lab, b)
    events = []
    with ssh_connections(v.plan) as conns:
        result = relay.relay_push(v.plan, v.profile, [b], conns, listener=events.append)
    assert result.report.ok, result.report.problems
    assert result.relayed == ["node1", "node2", "node3", "escape"] and not result.fallback
    for n in lab.nodes:
        for f in b.files:
            assert remote_sha(lab, n.name, push.remote_path(b, f)) == f.sha256
    hops = [(e.node, e.source) for e in events if isinstance(e, relay.RelayHop)]
    assert hops == [("node1", "installer"), ("node2", "node1"), ("node3", "node2"), ("escape", "node3")]
    # every hop's own progress came up the chain from its receiver, to the last byte
    total = sum(f.size for f in b.files)
    for n in lab.nodes:
        mine = [e.done_bytes for e in events if isinstance(e, TransferProgress) and e.node == n.name]
        assert mine and mine[-1] == total and mine == sorted(mine), (n.name, mine)
    assert set(relay_traces(lab).values()) == {"0 0"}
    # a repeat sends nothing
    events.clear()
    with ssh_connections(v.plan) as conns:
        again = relay.relay_push(v.plan, v.profile, [b], conns, listener=events.append)
    assert again.report.ok and again.report.sent_bytes == 0
    done = {e.node: e for e in events if isinstance(e, TransferDone)}
    assert set(done) == {n.name for n in lab.nodes} and {e.files_skipped for e in done.values()} == {2}


def test_node_cut_off_mid_relay_falls_back_and_says_so(lab, tmp_path):
    v = lab_validation(lab)
    b = make_bundle(tmp_path, "relaycut", {"big.bin": 24 << 20})
    clean(lab, b)
    target = push.remote_path(b, b.files[0])
    box = {}

    def go():
        # the installer waits longer than the hops do (a hop gives up on a dead
        # next node after ~4 s), as with the real defaults (30 s)
        with ssh_connections(v.plan, keepalive=1, dead_after=3, stall_timeout=15) as conns:
            box["result"] = relay.relay_push(v.plan, v.profile, [b], conns)

    lab.limit_installer_link("60mbit")  # ~3.5 s for 24 MiB: time to cut node3 off
    try:
        th = threading.Thread(target=go)
        th.start()
        deadline = time.monotonic() + 20
        while part_size(lab, "node3", target) < (2 << 20):
            assert time.monotonic() < deadline, "the relay never reached node3"
            time.sleep(0.05)
        lab.cut_link("node3")
        th.join(120)
    finally:
        lab.clear_installer_link()
        lab.restore_link("node3")
    result = box["result"]
    assert set(result.relayed) == {"node1", "node2"}
    assert "node3" in result.fallback and "escape" in result.fallback  # escape was behind node3 in the chain
    assert "relay" in result.fallback["escape"]
    problems = {p.node: p for p in result.report.problems}
    assert set(problems) == {"node3"}, problems  # escape got its copy directly
    assert remote_sha(lab, "escape", target) == b.files[0].sha256
    assert remote_sha(lab, "node2", target) == b.files[0].sha256
    assert any("node3" in w and "next push removes it" in w for w in result.cleanup_warnings)
    # node3 is back: the next relay push removes the stale key and completes
    time.sleep(1)
    with ssh_connections(v.plan) as conns:
        again = relay.relay_push(v.plan, v.profile, [b], conns)
    assert again.report.ok, again.report.problems
    assert remote_sha(lab, "node3", target) == b.files[0].sha256
    assert set(relay_traces(lab).values()) == {"0 0"}


def test_the_temporary_key_can_only_deliver_files(lab, tmp_path):
    v = lab_validation(lab)
    with ssh_connections(v.plan) as conns:
        r = relay.Relay(v.plan, v.profile, [], conns)
        chain = ["node1", "node2"]
        r._setup(chain)
        try:
            ssh = (f"ssh -i {r.dir}/key -o UserKnownHostsFile={r.dir}/known_hosts -o StrictHostKeyChecking=yes "
                   f"-o BatchMode=yes root@{lab.node('node2').address}")
            # whatever command is asked for, the receiver runs, and it wants a header
            out = lab.run("node1", f"{ssh} 'touch /tmp/relay-canary; id' < /dev/null", check=False)
            assert "uid=0" not in out.stdout and "fail ? - header" in out.stdout
            for path in ("../../etc/evil", "/etc/evil", "x/../../../etc/evil"):
                header = json.dumps({"node": "node2", "files": [{"path": path, "size": 1, "offset": 0, "sha256": "0" * 64}]})
                out = lab.run("node1", f"{ssh} onsite-relay", input=f"{len(header)}\n{header}X", check=False)
                assert "fail node2 - header bad path" in out.stdout, out
            # a next hop that is not an address (an ssh option, say) is refused before anything runs
            header = json.dumps({"node": "node2", "next": [{"node": "x", "address": "-oProxyCommand=touch /tmp/relay-canary"}],
                                 "files": []})
            out = lab.run("node1", f"{ssh} onsite-relay", input=f"{len(header)}\n{header}", check=False)
            assert "fail node2 - header bad next hop" in out.stdout, out
            assert lab.run("node2", "ls /tmp/relay-canary /etc/evil 2>/dev/null | wc -l").stdout.strip() == "0"
            # and it is refused from anywhere but the plan's nodes: the host is not one
            key = lab.run("node1", f"cat {r.dir}/key").stdout
            keyfile = tmp_path / "k"
            keyfile.write_text(key)
            keyfile.chmod(0o600)
            import subprocess

            res = subprocess.run(["ssh", "-i", str(keyfile), "-o", f"UserKnownHostsFile={lab.known_hosts}", "-o", "BatchMode=yes",
                                  f"root@{lab.node('node2').address}", "x"], capture_output=True, text=True, timeout=30)
            assert res.returncode != 0 and "Permission denied" in res.stderr
        finally:
            assert r.cleanup() == []
    assert set(relay_traces(lab).values()) == {"0 0"}


def test_ctrl_c_mid_relay_leaves_no_key_and_the_next_push_completes(lab, tmp_path, capsys):
    v = lab_validation(lab)
    b = make_bundle(tmp_path, "relayint", {"big.bin": 48 << 20})
    clean(lab, b)
    target = push.remote_path(b, b.files[0])
    lab.limit_installer_link("60mbit")
    try:
        interrupt_when(lambda: part_size(lab, "escape", target) >= (2 << 20))  # the last hop is receiving
        rc = main(["push", str(lab.answer_file), "--bundle", str(b.root), "--relay"])
    finally:
        lab.clear_installer_link()
    assert rc == 130 and "interrupted" in capsys.readouterr().err
    traces = relay_traces(lab)
    assert set(traces.values()) == {"0 0"}, traces  # no temporary key, no relay folder
    for n in lab.nodes:
        # the relay's processes (python3 DIR/receive.py, ssh -i DIR/key), not this pgrep's own shell
        assert lab.run(n.name, "pgrep -f '^(python3|ssh) .*/var/lib/onsite/relay/' || true").stdout.strip() == "", n.name
    with ssh_connections(v.plan) as conns:
        again = relay.relay_push(v.plan, v.profile, [b], conns)
    assert again.report.ok and again.relayed == ["node1", "node2", "node3", "escape"]
    assert {remote_sha(lab, n.name, target) for n in lab.nodes} == {b.files[0].sha256}


def test_the_key_goes_only_to_forwarders(lab, tmp_path, monkeypatch):
    """While the chain runs: the private key on node1..node3 (they forward),
    not on the last; authorized_keys entries on node2..escape, not the first."""
    v = lab_validation(lab)
    b = make_bundle(tmp_path, "keys", {"k.bin": 2 << 20})
    clean(lab, b)
    seen = {}
    real = relay.Relay._stream

    def spy(self, chain, *args, **kwargs):
        for n in lab.nodes:
            res = lab.run(n.name, f"ls {self.dir}/key 2>/dev/null | wc -l; grep -c onsite-relay /root/.ssh/authorized_keys",
                          check=False)
            seen[n.name] = " ".join(res.stdout.split())
        return real(self, chain, *args, **kwargs)

    monkeypatch.setattr(relay.Relay, "_stream", spy)
    with ssh_connections(v.plan) as conns:
        result = relay.relay_push(v.plan, v.profile, [b], conns)
    assert result.report.ok, result.report.problems
    assert seen == {"node1": "1 0", "node2": "1 1", "node3": "1 1", "escape": "0 1"}
    assert set(relay_traces(lab).values()) == {"0 0"}


def test_a_node_that_lies_about_a_downstream_nodes_files_stops_the_install(lab, tmp_path, monkeypatch, capsys):
    """The chain reports every file received, but node3's copy is not what the
    manifest says (a compromised node before it would do this): the install
    checks each node over its own connection, names node3, and runs no step."""
    from .conftest import RUNNER_BUNDLE_SRC, runner_site
    from .test_install import runs

    for n in lab.nodes:
        lab.run(n.name, "rm -rf /var/lib/onsite-test /var/lib/onsite/run /var/lib/onsite/lock "
                        "/var/lib/onsite/bundles/runner-test-1.0.0", check=False)
    site = runner_site(lab, tmp_path / "site.yaml")
    from installer.engine import bundle

    built = bundle.build(RUNNER_BUNDLE_SRC, tmp_path / "runner-test")
    real = relay.Relay._stream

    def tampering(self, chain, *args, **kwargs):
        ok = real(self, chain, *args, **kwargs)  # every verdict "ok", relayed up the chain
        lab.run("node3", f"echo 'echo planted' > {push.remote_path(built, built.files[0])}")
        return ok

    monkeypatch.setattr(relay.Relay, "_stream", tampering)
    rc = main(["install", str(site), "--bundle", str(built.root), "--relay", "--skip-preflight", "--plain"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "node3: after the relay its files do not match the bundles' manifests" in err
    assert sum(runs(lab).values()) == 0  # no step ran anywhere
    assert set(relay_traces(lab).values()) == {"0 0"}
