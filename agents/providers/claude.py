"""Claude Code, interactive, with missionctl's hooks in the worktree's local settings.

With `prepare_trust` (the default), each agent also gets a Claude config directory
of its own (`CLAUDE_CONFIG_DIR`, under `.missionctl/agent-config/<agent>/claude`),
so that it starts without a dialog and the user's `~/.claude.json` is never
touched. Measured on Claude Code 2.1.197: a new folder needs, in
`$CLAUDE_CONFIG_DIR/.claude.json`, `hasCompletedOnboarding` (else the first-run
onboarding, which also checks that api.anthropic.com is reachable) and
`projects[<folder>].hasTrustDialogAccepted` (else "Do you trust this folder?").
An `ANTHROPIC_API_KEY` in the environment brings one more question ("Detected a
custom API key… use it?"), whose answer Claude stores as the key's last 20
characters; missionctl never writes any part of a key, so it hands the key over
through `apiKeyHelper`, a command that prints it from the environment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from missionctl.agents.providers.base import (
    LaunchContext,
    hook_command,
    require_binary,
    version_output,
)
from missionctl.agents.state.onscreen import FullScreenTUI
from missionctl.agents.state.store import CLAUDE_HOOKED
from missionctl.files import write_private

# Hook events that carry a tool name and so take a matcher.
_TOOL_EVENTS = {"PreToolUse", "PostToolUse", "PermissionRequest"}
MARKER = "missionctl hook"
# Where the agent's API key travels when its config has `apiKeyHelper`: under a
# name Claude does not read by itself, so it asks no question about it.
KEY_VAR = "MISSIONCTL_ANTHROPIC_API_KEY"
# The user's own Claude files the agent keeps seeing through its own config
# directory: the login, personal instructions, agents, commands, skills.
_SHARED = (".credentials.json", "CLAUDE.md", "agents", "commands", "skills")


def claude_version(binary: str) -> str | None:
    """The version `binary --version` reports (e.g. "2.1.197"), or None."""
    path = shutil.which(binary)
    match = re.search(r"\d+\.\d+\.\d+", version_output(path)) if path else None
    return match[0] if match else None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class Claude(FullScreenTUI):
    # Its prompt box: `│ > text`, or `> ` / `❯ ` alone.
    prompt_pattern = re.compile(r"^\s*[│|]?\s*[>❯]\s?(\S.*)?$")
    name = "claude"
    submit_delay = 0.3
    notice_channel = "type"
    line_program = False
    has_hooks = True
    reports_work = True  # PreToolUse/UserPromptSubmit report work
    has_prompt_hook = True  # UserPromptSubmit carries the prompt text
    package = "@anthropic-ai/claude-code"

    def _argv(self, ctx: LaunchContext) -> list[str]:
        return list(ctx.settings.command or ("claude",))

    def config_dir(self, ctx: LaunchContext) -> Path:
        """The agent's own CLAUDE_CONFIG_DIR."""
        return (ctx.workspace.agent_config(ctx.agent.name) / "claude").resolve()

    def check(self, ctx: LaunchContext) -> None:
        require_binary(self._argv(ctx)[0], self.package)

    def prepare(self, ctx: LaunchContext) -> None:
        """Merge missionctl's hooks into `.claude/settings.local.json`, keeping the rest;
        with `prepare_trust`, write the agent's own config so it starts without dialogs."""
        path = ctx.worktree / ".claude" / "settings.local.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        settings = _read_json(path)
        hooks: dict[str, Any] = settings.get("hooks") or {}
        for event in CLAUDE_HOOKED:
            groups = [
                g
                for g in hooks.get(event, [])
                if not any(MARKER in h.get("command", "") for h in g.get("hooks", []))
            ]
            group: dict[str, Any] = {
                "hooks": [{"type": "command", "command": hook_command(event), "timeout": 10}]
            }
            if event in _TOOL_EVENTS:
                group["matcher"] = "*"
            hooks[event] = [*groups, group]
        settings["hooks"] = hooks
        path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        if ctx.settings.prepare_trust:
            self._prepare_config(ctx)

    def _prepare_config(self, ctx: LaunchContext) -> None:
        home = self.config_dir(ctx)
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        user_dir = Path.home() / ".claude"
        # .claude.json: Claude's own state from earlier runs is kept; none of the
        # user's is copied (it may hold an account's key).
        state_file = home / ".claude.json"
        state = _read_json(state_file)
        state["hasCompletedOnboarding"] = True
        version = claude_version(self._argv(ctx)[0])
        if version:
            state.setdefault("lastOnboardingVersion", version)
        project = state.setdefault("projects", {}).setdefault(str(ctx.worktree.resolve()), {})
        project["hasTrustDialogAccepted"] = True
        write_private(state_file, json.dumps(state, indent=2) + "\n")
        # settings.json: the user's own settings, plus the key helper when a key is set.
        settings = _read_json(user_dir / "settings.json")
        if self._api_key(ctx):
            settings["apiKeyHelper"] = f"printenv {KEY_VAR}"
        write_private(home / "settings.json", json.dumps(settings, indent=2) + "\n")
        for name in _SHARED:
            source, link = user_dir / name, home / name
            if link.is_symlink():
                link.unlink()
            if source.exists() and not link.exists():
                link.symlink_to(source)

    def _api_key(self, ctx: LaunchContext) -> str:
        return ctx.settings.env.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_API_KEY", "")

    def command(self, ctx: LaunchContext) -> list[str]:
        # Interactive (never -p): the first message is the prompt argument.
        return [*self._argv(ctx), ctx.first_message()]

    def env(self, ctx: LaunchContext) -> dict[str, str]:
        # Several agents self-updating one installed CLI while they run it can break
        # them all: the org keeps the version it started with.
        env = {"DISABLE_AUTOUPDATER": "1", **ctx.settings.env}
        if ctx.settings.base_url:
            env["ANTHROPIC_BASE_URL"] = ctx.settings.base_url
        if ctx.model:
            env["ANTHROPIC_MODEL"] = ctx.model
        if ctx.settings.prepare_trust:
            env["CLAUDE_CONFIG_DIR"] = str(self.config_dir(ctx))
            key = self._api_key(ctx)
            if key:
                # Claude treats an empty variable as unset: no key question.
                env |= {"ANTHROPIC_API_KEY": "", KEY_VAR: key}
        return env
