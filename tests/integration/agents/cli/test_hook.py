"""`missionctl hook` as Claude Code, Codex and the shell call it: real processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from missionctl.agents.state.store import StateStore
from tests.helpers import run_missionctl


def _env(workspace: Path, agent: str = "r1") -> dict[str, str]:
    return {"MISSIONCTL_AGENT": agent, "MISSIONCTL_WORKSPACE": str(workspace)}


def _hook(
    workspace: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "missionctl", "hook", *args],
        input=stdin, capture_output=True, text=True, timeout=30, cwd=workspace,
        env={**os.environ, **(_env(workspace) if env is None else env)},
    )  # fmt: skip


def test_claude_hook_with_json_on_stdin(workspace: Path) -> None:
    payload = {
        "session_id": "s",
        "hook_event_name": "UserPromptSubmit",
        "prompt": "run the baseline",
    }
    proc = _hook(workspace, "UserPromptSubmit", stdin=json.dumps(payload))
    assert proc.returncode == 0 and proc.stdout == ""  # stdout would become Claude's context
    record = StateStore(workspace / ".missionctl" / "state").hook("r1")
    assert record is not None
    assert (record.state, record.prompt) == ("working", "run the baseline")
    _hook(workspace, "Stop", stdin=json.dumps({"hook_event_name": "Stop"}))
    record = StateStore(workspace / ".missionctl" / "state").hook("r1")
    assert record is not None and record.state == "idle" and record.prompt == "run the baseline"


def test_codex_notify_passes_json_as_an_argument(workspace: Path) -> None:
    proc = _hook(
        workspace, "codex-notify", json.dumps({"type": "agent-turn-complete", "turn-id": "1"})
    )
    assert proc.returncode == 0
    record = StateStore(workspace / ".missionctl" / "state").hook("r1")
    assert record is not None and record.state == "idle"


def test_a_broken_payload_never_fails_the_agent(workspace: Path) -> None:
    proc = _hook(workspace, "PreToolUse", stdin="{not json")
    assert proc.returncode == 0  # exit 2 would block Claude's tool call
    assert StateStore(workspace / ".missionctl" / "state").hook("r1") is None
    log = (workspace / ".missionctl" / "logs" / "hook.log").read_text()
    assert "PreToolUse" in log and "JSONDecodeError" in log


def test_a_bad_agent_name_writes_nothing_outside_the_state_dir(workspace: Path) -> None:
    proc = _hook(workspace, "working", env=_env(workspace, agent="../../evil"))
    assert proc.returncode == 0
    assert not (workspace / ".missionctl" / "evil.json").exists()
    assert not list((workspace / ".missionctl").glob("**/evil*"))


def test_outside_missionctl_the_hook_does_nothing(workspace: Path) -> None:
    proc = _hook(workspace, "Stop", env={"MISSIONCTL_AGENT": "", "MISSIONCTL_WORKSPACE": ""})
    assert proc.returncode == 0
    assert not (workspace / ".missionctl" / "state").exists()


def test_shell_timestamps_order_events(workspace: Path) -> None:
    now = time.time()
    _hook(workspace, "working", "--ts", f"{now + 0.5:.6f}")
    _hook(workspace, "idle", "--ts", f"{now + 0.1:.6f}".replace(".", ","))  # a decimal comma
    record = StateStore(workspace / ".missionctl" / "state").hook("r1")
    assert record is not None and record.state == "working" and abs(record.ts - (now + 0.5)) < 1e-3


@pytest.mark.parametrize("ts", ["1e300", "inf", "-inf", "nan", "0"])
def test_a_timestamp_far_from_now_cannot_pin_a_state(workspace: Path, ts: str) -> None:
    _hook(workspace, "working", "--ts", ts)
    _hook(workspace, "idle")
    record = StateStore(workspace / ".missionctl" / "state").hook("r1")
    assert record is not None and record.state == "idle" and abs(record.ts - time.time()) < 30


def test_the_hook_path_imports_no_heavy_packages(workspace: Path) -> None:
    code = (
        "import sys\n"
        "from missionctl.cli import main\n"
        "main(['hook', 'working'])\n"
        "heavy = {'textual', 'torch', 'rich', 'psutil', 'watchdog', 'libtmux', 'numpy'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    import os

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                          env={**os.environ, **_env(workspace)}, stdin=subprocess.DEVNULL)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_help_is_available(workspace: Path) -> None:
    proc = run_missionctl(["hook", "--help"], cwd=workspace)
    assert proc.returncode == 0 and "codex-notify" in proc.stdout
