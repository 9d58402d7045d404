"""The command line with odd input: where the answer file comes from, where
output goes, and what a crash leaves behind (issue 15, class 8).

Each asserts the exit code and the words; none may exit 70.
"""

from __future__ import annotations

import importlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from installer.cli import main
from installer.model import yamlio

BASE = Path(__file__).parent / "corpus" / "base.yaml"
ONSITE = [sys.executable, "-c", "import sys; from installer.cli import main; sys.exit(main())"]


def test_init_into_a_missing_folder_exits_2(tmp_path: Path, capsys):
    target = tmp_path / "no" / "such" / "site.yaml"
    assert main(["init", "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"folder {target.parent} does not exist" in err
    assert not target.parent.exists()


def test_init_onto_a_folder_exits_2(tmp_path: Path, capsys):
    assert main(["init", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path} is a folder; name the file to write" in err


def test_init_onto_an_existing_file_needs_force(tmp_path: Path, capsys):
    target = tmp_path / "site.yaml"
    target.write_text("# mine\n")
    assert main(["init", "-o", str(target)]) == 2
    assert "exists; use --force" in capsys.readouterr().err
    assert target.read_text() == "# mine\n"
    assert main(["init", "-o", str(target), "--force"]) == 0
    assert main(["validate", str(target)]) == 0


def test_validate_reads_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(BASE.read_bytes())))
    assert main(["validate", "-"]) == 0
    assert "-: valid" in capsys.readouterr().out


def test_validate_reads_a_bad_file_from_stdin(monkeypatch, capsys):
    text = BASE.read_text().replace("router_id: 52\n", "router_id: 52.0\n")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert main(["validate", "-"]) == 2
    out = capsys.readouterr().out
    assert "<stdin>:45:16: error: vips[1].router_id: expected a whole number, found '52.0'" in out
    assert "it is a decimal number: write 52" in out


def test_validate_refuses_more_than_the_limit_from_stdin(monkeypatch, capsys):
    big = b"# x\n" * (yamlio.MAX_ANSWER_FILE_BYTES // 4 + 10)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(big)))
    assert main(["validate", "-"]) == 2
    assert "larger than 1024 KiB" in capsys.readouterr().out


def test_a_fifo_is_refused_without_blocking(tmp_path: Path, capsys):
    fifo = tmp_path / "plan.yaml"
    os.mkfifo(fifo)
    assert main(["validate", str(fifo)]) == 2  # would block for ever if it were opened for reading
    assert "this is a named pipe (FIFO), not an answer file" in capsys.readouterr().out


def test_a_device_is_refused(capsys):
    assert main(["validate", "/dev/zero"]) == 2
    assert "this is a device, not an answer file" in capsys.readouterr().out


def test_a_folder_is_refused(tmp_path: Path, capsys):
    assert main(["validate", str(tmp_path)]) == 2
    assert "this is a folder, not an answer file" in capsys.readouterr().out


@pytest.mark.parametrize("action", ["build", "verify"])
def test_bundle_commands_on_a_missing_path_exit_2(tmp_path: Path, capsys, action):
    missing = tmp_path / "nothing-here"
    argv = ["bundle", "build", str(missing), "-o", str(tmp_path / "out")] if action == "build" else ["bundle", "verify", str(missing)]
    assert main(argv) == 2
    assert f"{missing} does not exist" in capsys.readouterr().err


def test_a_file_name_with_escapes_is_printed_safely(tmp_path: Path, capsys):
    path = tmp_path / "evil\x1b[31m\u202e.yaml"
    path.write_text(BASE.read_text().replace("router_id: 52\n", "router_id: 256\n"))
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr()
    assert "\x1b" not in out.out + out.err and "\u202e" not in out.out + out.err
    assert "evil\\x1b[31m\\u202e.yaml:45:16: error" in out.out


@pytest.mark.parametrize("env", [{"LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "ascii"},
                                 {"PYTHONIOENCODING": "cp437"}], ids=["ascii", "cp437"])
def test_output_in_another_encoding_never_crashes(tmp_path: Path, env):
    """`…` (shortened values) and `·` (onsite plan) cannot be written in
    ASCII or cp437: they are replaced, and the exit code is the real one."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE.read_text().replace("  name: Campus North\n", "  name: Campus North\n  " + "x" * 60 + ": 1\n"))
    run_env = {**os.environ, **env}
    r = subprocess.run([*ONSITE, "validate", str(bad)], capture_output=True, env=run_env, timeout=60)
    assert r.returncode == 2, r.stderr
    assert b"unknown key 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'" in r.stdout
    r = subprocess.run([*ONSITE, "plan", str(BASE)], capture_output=True, env=run_env, timeout=60)
    assert r.returncode == 0, r.stderr
    dot = "·" if env["PYTHONIOENCODING"] == "cp437" else "-"  # cp437 has the middle dot
    assert r.stdout.decode(env["PYTHONIOENCODING"]).startswith(f"site Campus North {dot} profile reference")


def test_a_crash_log_holds_no_value_from_the_answer_file(monkeypatch, tmp_path: Path, capsys):
    module = importlib.import_module("installer.cli.main")  # (installer.cli.main the name is the function)
    secret = "Sup3rS3cretFromTheFile"

    def boom(args):
        password = secret  # a local that a traceback with locals would show
        raise RuntimeError(f"cannot use {password}")

    monkeypatch.setattr(module, "cmd_validate", boom)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert main(["validate", str(BASE)]) == 70
    err = capsys.readouterr().err
    assert "internal error: RuntimeError" in err and secret not in err
    path = Path(re.search(r"details are in (\S+)", err).group(1))
    log = path.read_text()
    assert secret not in log
    assert "builtins.RuntimeError" in log
    assert "in boom" in log


def test_a_wizard_crash_shows_no_traceback_and_logs_no_values(monkeypatch, tmp_path: Path, capsys):
    """Textual would print a traceback with every frame's locals; the wizard
    names a crash log instead, and the log holds no value."""
    import asyncio

    from installer.tui.app import OnsiteApp

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # no journal yet: the user's state folder
    secret = "Sup3rS3cretInTheWizard"

    def boom(self, *args, **kwargs):
        password = secret  # a local that Textual's traceback would show
        raise RuntimeError(password)

    monkeypatch.setattr(OnsiteApp, "go", boom)
    app = OnsiteApp(None, autostart=False)

    async def go():
        with pytest.raises(RuntimeError):
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.pause()

    asyncio.run(go())
    [log] = list((tmp_path / "onsite" / "crash").glob("onsite-crash-*.log"))
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    assert secret not in log.read_text() and "in boom" in log.read_text()
    shown = capsys.readouterr()
    shown = " ".join((shown.out + shown.err).split())  # rich wraps the line
    assert "onsite: internal error: RuntimeError. This is a bug; the details are in" in shown
    assert secret not in shown and "Traceback" not in shown
