"""The wizard in a real terminal: tmux at 80x24, LANG=zh_CN.UTF-8, the real
`onsite wizard FILE --bundle B` process against the lab, walked by keys from
Welcome to Done, every page captured as the terminal shows it (tmux
capture-pane). No traceback anywhere, and no cut-off label: every page's
title, buttons, field labels and footer keys appear whole (a double-width
label cut to fit a fixed width would lose its last characters), and the
wizard exits 0 from Done.

The pages' Pilot tests (test_wizard.py) and SVG snapshots
(test_wizard_snapshots.py) drive the app in-process; this is the only test
where a terminal emulator measures the double-width characters.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import repo_root

pytestmark = pytest.mark.lab

FOOTER = ("esc 返回", "^n 下一步", "f1 帮助", "f12 按键", "^s 保存", "^q 退出")


class Tmux:
    """One tmux server of its own (-L), one 80x24 window."""

    def __init__(self, name: str) -> None:
        self.base = ["tmux", "-u", "-L", name, "-f", "/dev/null"]
        self.shots: list[str] = []

    def start(self, command: str, width: int = 80, height: int = 24) -> None:
        subprocess.run([*self.base, "new-session", "-d", "-s", "w", "-x", str(width), "-y", str(height), command], check=True)

    def screen(self) -> str:
        return subprocess.run([*self.base, "capture-pane", "-p", "-t", "w"], capture_output=True, text=True, check=True).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.base, "send-keys", "-t", "w", *keys], check=True)

    def wait(self, *texts: str, timeout: float = 30, what: str = "") -> str:
        """The screen once every text is on it (and no traceback is)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            assert "Traceback" not in text, text
            if all(t in text for t in texts):
                self.shots.append(text)
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or texts}; the terminal shows:\n{text}")
            time.sleep(0.2)

    def wait_any(self, *texts: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            assert "Traceback" not in text, text
            found = [t for t in texts if t in text]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for one of {texts}; the terminal shows:\n{text}")
            time.sleep(0.2)

    def wait_gone(self, text: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while text in self.screen():
            assert time.monotonic() < deadline, f"{text!r} is still on the screen:\n{self.screen()}"
            time.sleep(0.2)

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)


def _page(tmux: Tmux, index: int, title: str, *labels: str, timeout: float = 30, footer: tuple[str, ...] = FOOTER) -> str:
    head = f"onsite · {index}/10 · {title}"
    text = tmux.wait(head, *labels, *footer, timeout=timeout, what=f"page {index} ({title}) with {labels}")
    lines = text.splitlines()
    assert lines[0].strip() == head, lines[0]  # the title line holds the whole title and nothing cut
    return text


@pytest.fixture
def tmux():
    if not shutil.which("tmux"):
        if os.environ.get("CI"):
            pytest.fail("CI must run the terminal test: tmux is missing (scripts/setup.sh installs it)")
        pytest.skip("tmux is not installed (scripts/setup.sh installs it)")
    t = Tmux(f"onsite-test-{os.getpid()}")
    yield t
    t.close()


def test_the_wizard_in_chinese_in_a_real_80x24_terminal_from_welcome_to_done(site, runner_bundle, tmux, tmp_path):
    env = {"LANG": "zh_CN.UTF-8", "TERM": "tmux-256color", "PYTHONPATH": str(repo_root() / "src"),
           "HOME": os.environ.get("HOME", "/root"), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    command = (f"cd {shlex.quote(str(tmp_path))} && env -i {' '.join(f'{k}={shlex.quote(v)}' for k, v in env.items())} "
               f"{shlex.quote(sys.executable)} -m installer wizard {shlex.quote(str(site))} --bundle {shlex.quote(str(runner_bundle))}; "
               "echo onsite-exit=$?; sleep 600")
    tmux.start(command)

    _page(tmux, 1, "欢迎", "规划、检查并安装一个站点。", "新建规划", "应答文件", "打开应答文件")
    tmux.keys("Enter")  # the file given is open to open: the Open button has the focus
    _page(tmux, 7, "检查规划", "返回", "保存并检查节点", "规划有效", "个节点 · VIP", "应答文件：",
          footer=(*FOOTER, "r 重新读取安装包"))

    # every planning page, backwards with Esc, then forwards with Ctrl+N
    back = [
        (6, "SSH 访问", ("用户", "端口", "登录方式", "密钥文件", "密码引用", "测试连接", "返回", "下一步")),
        (5, "端口", ("组件", "端口", "协议", "端口号", "节点", "返回", "下一步")),
        (4, "节点与角色", ("名称", "网卡", "角色（空格切换）", "角色", "数量", "(恰好 3 个)")),
        (3, "网络与 IP 规划", ("子网", "网关", "DNS 服务器", "NTP 服务器", "IP 表", "建议地址", "网络/前缀，例如 10.20.30.0/24")),
        (2, "站点与产品", ("站点名称", "产品配置", "备注", "一行，例如 Campus North")),
    ]
    for index, title, labels in back:
        tmux.keys("Escape")
        _page(tmux, index, title, *labels)
    tmux.keys("F1")  # on the focused field (the site's name): what it means, what is allowed, an example
    tmux.wait("站点名称", "允许：", "示例：Campus North", "字段：site.name", "关闭", what="the help of the field")
    tmux.keys("Escape")  # (a key right after Esc would make tmux read Meta+key: wait for the help to close)
    tmux.wait_gone("关闭")
    for index, title, _labels in reversed(back[:-1]):
        tmux.keys("C-n")
        _page(tmux, index, title)
    tmux.keys("C-n")
    _page(tmux, 7, "检查规划", "保存并检查节点")

    tmux.keys("C-n")  # saved already: on to preflight (a save dialog first if the walk changed anything)
    if tmux.wait_any("8/10 · 预检", "保存应答文件") == "保存应答文件":
        tmux.wait("保存应答文件", "保存到哪里？密钥从不写入文件，只写引用。", "确定", "取消")
        tmux.keys("Enter")
    _page(tmux, 8, "预检", "节点", "ssh", "可以安装（", "项检查通过", "安装", footer=(*FOOTER, "r 重查", "n 重查本节点"), timeout=120)
    tmux.keys("C-n")
    _page(tmux, 9, "安装", "个步骤 ·", "p 暂停，a 中止", "步骤", footer=(*FOOTER, "p 暂停", "a 中止"), timeout=30)
    _page(tmux, 10, "完成", "已安装：运行了 33 个步骤", "要使用的地址", "应答文件：", "生成支持包", "返回", "退出", timeout=180)
    tmux.keys("C-n")  # Quit
    tmux.wait("onsite-exit=0", what="the wizard to exit 0", timeout=20)
    for shot in tmux.shots:  # nothing English left on a page but names and values
        assert not {"Back", "Next", "Quit", "Save", "Help"} & set(shot.split()), shot
    Path(tmp_path / "screens.txt").write_text("\n\n".join(tmux.shots), encoding="utf-8")
