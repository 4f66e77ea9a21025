"""Claude Code, interactive, with missionctl's hooks in the worktree's local settings."""

from __future__ import annotations

import json
from typing import Any

from missionctl.agents.providers.base import LaunchContext, hook_command, require_binary
from missionctl.agents.state import CLAUDE_HOOKED

# Hook events that carry a tool name and so take a matcher.
_TOOL_EVENTS = {"PreToolUse", "PostToolUse", "PermissionRequest"}
MARKER = "missionctl hook"


class Claude:
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

    def check(self, ctx: LaunchContext) -> None:
        require_binary(self._argv(ctx)[0], self.package)

    def prepare(self, ctx: LaunchContext) -> None:
        """Merge missionctl's hooks into `.claude/settings.local.json`, keeping the rest."""
        path = ctx.worktree / ".claude" / "settings.local.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            settings: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            settings = {}
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

    def command(self, ctx: LaunchContext) -> list[str]:
        # Interactive (never -p): the first message is the prompt argument.
        return [*self._argv(ctx), ctx.first_message()]

    def env(self, ctx: LaunchContext) -> dict[str, str]:
        env = dict(ctx.settings.env)
        if ctx.settings.base_url:
            env["ANTHROPIC_BASE_URL"] = ctx.settings.base_url
        if ctx.settings.model:
            env["ANTHROPIC_MODEL"] = ctx.settings.model
        return env
