"""Providers: the commands they start and what they install in the worktree."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from missionctl.agents.providers import LaunchContext, provider_for
from missionctl.orgfile import loads
from missionctl.workspace import Workspace

ORG = """
[org]
name = "lab"
structure = "hierarchical"

[[agent]]
name = "boss"
role = "chief"
provider = "claude"

[[agent]]
name = "r5"
provider = "codex"
gpu = 5

[providers.codex]
model = "gpt-5-codex"
"""


def _ctx(workspace: Path, agent: str) -> LaunchContext:
    ws = Workspace(workspace)
    org = loads(ORG)
    tree = workspace / ".missionctl" / "worktrees" / agent
    tree.mkdir(parents=True, exist_ok=True)
    return LaunchContext(ws, org, org.agent(agent), tree)


def test_first_message_is_role_prompt_identity_and_program(workspace: Path) -> None:
    text = _ctx(workspace, "boss").first_message()
    chief = (workspace / "org/prompts/chief.md").read_text().strip()
    program = (workspace / "org/program.md").read_text().strip()
    assert text.startswith(chief)
    assert "You are agent 'boss' (chief)" in text and "r5 (researcher)" in text
    assert text.rstrip().endswith(program.splitlines()[-1])


def test_claude_hooks_merge_into_local_settings(workspace: Path) -> None:
    ctx = _ctx(workspace, "boss")
    settings = ctx.worktree / ".claude" / "settings.local.json"
    settings.parent.mkdir(parents=True)
    mine = {"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]},
            "permissions": {"allow": ["Bash(ls:*)"]}}  # fmt: skip
    settings.write_text(json.dumps(mine))
    claude = provider_for("claude")
    claude.prepare(ctx)
    claude.prepare(ctx)  # idempotent
    data = json.loads(settings.read_text())
    assert data["permissions"] == mine["permissions"]
    stop = data["hooks"]["Stop"]
    assert {"type": "command", "command": "say done"} in stop[0]["hooks"]
    ours = [h["command"] for g in stop for h in g["hooks"] if "missionctl" in h["command"]]
    assert len(ours) == 1 and ours[0].endswith("hook Stop")
    for event in ("UserPromptSubmit", "PreToolUse", "Notification", "SessionEnd"):
        assert data["hooks"][event][-1]["hooks"][0]["command"].endswith(f"hook {event}")
    assert data["hooks"]["PreToolUse"][-1]["matcher"] == "*"


def test_claude_runs_interactively_with_the_first_message(workspace: Path) -> None:
    ctx = _ctx(workspace, "boss")
    argv = provider_for("claude").command(ctx)
    assert argv[0] == "claude" and argv[-1] == ctx.first_message()
    assert "-p" not in argv and "--print" not in argv


def test_codex_notify_is_valid_toml_and_interactive(workspace: Path) -> None:
    ctx = _ctx(workspace, "r5")
    argv = provider_for("codex").command(ctx)
    assert argv[0] == "codex" and "exec" not in argv
    notify = argv[argv.index("-c") + 1]
    parsed = tomllib.loads(notify)["notify"]
    assert parsed[-2:] == ["hook", "codex-notify"]
    assert argv[argv.index("-m") + 1] == "gpt-5-codex"
    assert argv[-1] == ctx.first_message()
