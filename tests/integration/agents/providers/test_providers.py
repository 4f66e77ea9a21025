"""Providers: the commands they start and what they install in the worktree."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from missionctl.agents.providers import LaunchContext, Provider, provider_for
from missionctl.agents.providers.claude import KEY_VAR
from missionctl.agents.providers.codex import CODEX_HOOKED, trusted_hash
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
"""
CODEX_MODEL = 'model = "gpt-5-codex"\n'


def _ctx(workspace: Path, agent: str, codex: str = CODEX_MODEL) -> LaunchContext:
    """`agent` of ORG, with `codex` as the body of its [providers.codex] table."""
    ws = Workspace(workspace)
    org = loads(f"{ORG}\n[providers.codex]\n{codex}")
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


def _claude_ctx(workspace: Path, settings: str = "") -> LaunchContext:
    ws = Workspace(workspace)
    org = loads(f"{ORG}\n[providers.claude]\n{settings}")
    tree = workspace / ".missionctl" / "worktrees" / "boss"
    tree.mkdir(parents=True, exist_ok=True)
    return LaunchContext(ws, org, org.agent("boss"), tree)


def test_claude_gets_its_own_config_that_starts_without_dialogs(
    workspace: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret-never-in-a-file")
    user = isolated_env / ".claude"
    user.mkdir()
    (user / "settings.json").write_text(
        '{"model": "opus", "permissions": {"allow": ["Bash(ls:*)"]}}'
    )
    (user / ".credentials.json").write_text("{}")
    ctx = _claude_ctx(workspace)
    claude = provider_for("claude")
    claude.prepare(ctx)
    claude.prepare(ctx)  # idempotent
    env = claude.env(ctx)
    home = Path(env["CLAUDE_CONFIG_DIR"])
    assert home == (workspace / ".missionctl" / "agent-config" / "boss" / "claude").resolve()
    state = json.loads((home / ".claude.json").read_text())
    assert state["hasCompletedOnboarding"] is True
    assert state["projects"][str(ctx.worktree.resolve())]["hasTrustDialogAccepted"] is True
    assert not (isolated_env / ".claude.json").exists()  # the user's own is never touched
    settings = json.loads((home / "settings.json").read_text())
    assert settings["model"] == "opus" and settings["permissions"]["allow"] == ["Bash(ls:*)"]
    # The key travels in the environment under a name Claude asks no question about.
    assert settings["apiKeyHelper"] == f"printenv {KEY_VAR}"
    assert env["ANTHROPIC_API_KEY"] == "" and env[KEY_VAR] == "sk-ant-secret-never-in-a-file"
    assert (home / ".credentials.json").resolve() == user / ".credentials.json"
    assert env["DISABLE_AUTOUPDATER"] == "1"
    for path in [*home.iterdir(), ctx.worktree / ".claude" / "settings.local.json"]:
        if path.is_file() and not path.is_symlink():
            assert "sk-ant-secret" not in path.read_text()


def test_claude_trust_can_be_left_to_the_user(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    ctx = _claude_ctx(workspace, "prepare_trust = false\n")
    claude = provider_for("claude")
    claude.prepare(ctx)
    env = claude.env(ctx)
    assert "CLAUDE_CONFIG_DIR" not in env and "ANTHROPIC_API_KEY" not in env
    assert not (workspace / ".missionctl" / "agent-config").exists()
    assert (ctx.worktree / ".claude" / "settings.local.json").exists()  # the hooks still


def test_claude_runs_interactively_with_the_first_message(workspace: Path) -> None:
    ctx = _ctx(workspace, "boss")
    argv = provider_for("claude").command(ctx)
    assert argv[0] == "claude" and argv[-1] == ctx.first_message()
    assert "-p" not in argv and "--print" not in argv


def _codex_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    """A `codex` that reports `version`: stands in for a Codex release not installed here."""
    bin_dir = tmp_path / f"codex-{version}"
    bin_dir.mkdir()
    stub = bin_dir / "codex"
    stub.write_text(f"#!/bin/sh\necho 'codex-cli {version}'\n")
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


CodexAt = Callable[..., tuple[Provider, LaunchContext]]


@pytest.fixture
def codex_at(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CodexAt:
    """`codex_at(version, body)`: the Codex provider and r5's launch context (`body` as its
    [providers.codex] table), with a `codex` that reports `version` on PATH."""

    def at(version: str, body: str = CODEX_MODEL) -> tuple[Provider, LaunchContext]:
        _codex_on_path(tmp_path, monkeypatch, version)
        return provider_for("codex"), _ctx(workspace, "r5", body)

    return at


# Trust hashes Codex 0.171 itself wrote ("Trust all and continue" in its hook review)
# for hooks running `/tmp/cx/hook.sh EVENT`: missionctl must compute the same.
MEASURED_TRUST = [
    ("pre_tool_use", "PreToolUse", "*", 10,
     "sha256:b4e3efb05f9afc3e444b5db1265cb248de347d675673b17f97c6ce0f55a2445c"),
    ("session_start", "SessionStart", None, 10,
     "sha256:30570dfaa9947976750b99e12b56b8498198429ec021ac06ce11fd39c4069444"),
    ("user_prompt_submit", "UserPromptSubmit", None, 10,
     "sha256:b51fad6c0c496f812395eca92f90c902053147cef88a2ed0a03a9b60f7a8648a"),
    ("permission_request", "PermissionRequest", "*", 10,
     "sha256:7cae986479df0536b4438d057d67cd83ba2013167867d5e87cc407c1ea5b49cc"),
    ("interrupt", "Interrupt", None, 3,  # Codex caps this event's timeout at 3 s
     "sha256:caab5716791bb14fe497c5fac29f0c20583911cee6c473af286c91c1ec32777e"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "event", "matcher", "timeout", "expected"), MEASURED_TRUST)
def test_codex_hook_trust_hash_is_the_one_codex_computes(
    label: str, event: str, matcher: str | None, timeout: int, expected: str
) -> None:
    group: dict[str, object] = {
        "hooks": [{"type": "command", "command": f"/tmp/cx/hook.sh {event}", "timeout": timeout}]
    }
    if matcher:
        group["matcher"] = matcher
    assert trusted_hash(label, group) == expected


def test_codex_home_has_trusted_hooks_provider_and_trust_but_no_key(
    workspace: Path, codex_at: CodexAt, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    codex, ctx = codex_at("0.171.0", 'base_url = "http://127.0.0.1:9/v1"\n')
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-never-in-a-file")
    user = isolated_env / ".codex"
    user.mkdir()
    (user / "config.toml").write_text(
        'approval_policy = "on-request"\n[mcp_servers.docs]\ncommand = "docs-mcp"\n'
        '[hooks]\nStop = [{ hooks = [{ type = "command", command = "say done" }] }]\n'
    )
    (user / "auth.json").write_text("{}")
    codex.prepare(ctx)
    codex.prepare(ctx)  # idempotent
    home = Path(codex.env(ctx)["CODEX_HOME"])
    assert home == (workspace / ".missionctl" / "agent-config" / "r5" / "codex").resolve()
    assert ctx.worktree not in home.parents  # out of reach of the agent's sandbox
    config = tomllib.loads((home / "config.toml").read_text())
    # The user's own settings carry over; their hooks (trusted elsewhere) do not.
    assert config["approval_policy"] == "on-request"
    assert config["mcp_servers"]["docs"]["command"] == "docs-mcp"
    assert set(config["hooks"]) == {"state"}
    assert config["projects"][str(ctx.worktree.resolve())] == {"trust_level": "trusted"}
    provider = config["model_providers"][config["model_provider"]]
    assert provider["base_url"] == "http://127.0.0.1:9/v1" and provider["wire_api"] == "responses"
    assert provider["env_key"] == "OPENAI_API_KEY"
    assert config["features"] == {"hooks": True, "shell_snapshot": False}
    hooks = json.loads((home / "hooks.json").read_text())["hooks"]
    assert set(hooks) == set(CODEX_HOOKED)
    for event, (group,) in hooks.items():
        assert group["hooks"][0]["command"].endswith(f"hook {event}")
        key = f"{home / 'hooks.json'}:{CODEX_HOOKED[event]}:0:0"
        assert config["hooks"]["state"][key]["trusted_hash"] == trusted_hash(
            CODEX_HOOKED[event], group
        )
    assert (home / "auth.json").is_symlink() and (
        home / "auth.json"
    ).resolve() == user / "auth.json"
    for path in home.iterdir():
        if path.is_file() and not path.is_symlink():
            assert "sk-secret" not in path.read_text()
            assert path.stat().st_mode & 0o077 == 0


def test_codex_with_hooks_runs_interactively_without_the_shared_server(codex_at: CodexAt) -> None:
    codex, ctx = codex_at("0.171.0")
    argv = codex.command(ctx)
    assert argv[0] == "codex" and "exec" not in argv and "--no-daemon" in argv
    assert not any(a.startswith("notify=") for a in argv)
    assert argv[argv.index("-m") + 1] == "gpt-5-codex"
    assert argv[-1] == ctx.first_message()
    assert codex.reports_work and codex.has_prompt_hook


def test_codex_agents_never_share_a_codex_home(workspace: Path) -> None:
    org = loads(ORG + '\n[[agent]]\nname = "r6"\nprovider = "codex"\n')
    ws = Workspace(workspace)
    homes = {
        provider_for("codex").env(LaunchContext(ws, org, org.agent(a), ws.worktree(a)))[
            "CODEX_HOME"
        ]
        for a in ("r5", "r6")
    }
    assert len(homes) == 2


def test_old_codex_falls_back_to_notify(codex_at: CodexAt) -> None:
    codex, ctx = codex_at("0.40.0")
    codex.prepare(ctx)
    argv = codex.command(ctx)
    notify = argv[argv.index("-c") + 1]
    parsed = tomllib.loads(notify)["notify"]
    assert parsed[-2:] == ["hook", "codex-notify"]
    assert "--no-daemon" not in argv
    assert not codex.reports_work and not codex.has_prompt_hook  # notify: finished turns only
    home = Path(codex.env(ctx)["CODEX_HOME"])
    assert not (home / "hooks.json").exists()
    assert "hooks" not in tomllib.loads((home / "config.toml").read_text())


def test_codex_trust_can_be_left_to_the_user(codex_at: CodexAt) -> None:
    codex, ctx = codex_at("0.171.0", "prepare_trust = false\n")
    codex.prepare(ctx)
    config = tomllib.loads((Path(codex.env(ctx)["CODEX_HOME"]) / "config.toml").read_text())
    assert "projects" not in config
    assert "model_provider" not in config  # no base_url: Codex's own provider
