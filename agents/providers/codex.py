"""Codex CLI, interactive, reporting turn completion through its `notify` setting."""

from __future__ import annotations

import json

from missionctl.agents.providers.base import (
    LaunchContext,
    missionctl_argv,
    require_binary,
)


class Codex:
    name = "codex"
    submit_delay = 0.5
    notice_channel = "type"
    line_program = False
    has_hooks = True
    reports_work = False  # notify reports finished turns only
    has_prompt_hook = False  # notify reports finished turns only
    package = "@openai/codex"

    def _argv(self, ctx: LaunchContext) -> list[str]:
        return list(ctx.settings.command or ("codex",))

    def check(self, ctx: LaunchContext) -> None:
        require_binary(self._argv(ctx)[0], self.package)

    def prepare(self, ctx: LaunchContext) -> None:
        """Nothing to install: the notify hook goes on the command line."""

    def command(self, ctx: LaunchContext) -> list[str]:
        # `-c key=value` overrides config.toml for this session only; the value is TOML.
        notify = json.dumps([*missionctl_argv(), "hook", "codex-notify"])
        argv = [*self._argv(ctx), "-c", f"notify={notify}"]
        if ctx.settings.model:
            argv += ["-m", ctx.settings.model]
        return [*argv, ctx.first_message()]

    def env(self, ctx: LaunchContext) -> dict[str, str]:
        return dict(ctx.settings.env)
