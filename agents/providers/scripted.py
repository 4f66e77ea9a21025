"""The scripted agent (`agents/demo/scripted/`): a deterministic, offline researcher or chief."""

from __future__ import annotations

import sys

from missionctl.agents.providers.base import LaunchContext
from missionctl.agents.state.onscreen import LineProgram


class Scripted(LineProgram):
    name = "scripted"
    submit_delay = 0.1
    notice_channel = "type"
    line_program = True
    has_hooks = True
    reports_work = True  # it calls `missionctl hook working`
    has_prompt_hook = True  # reports each typed line as UserPromptSubmit

    def check(self, ctx: LaunchContext) -> None:
        """Runs on this interpreter: nothing to check."""

    def prepare(self, ctx: LaunchContext) -> None:
        """Reports its state itself through `missionctl hook`."""

    def command(self, ctx: LaunchContext) -> list[str]:
        if ctx.settings.command:
            return list(ctx.settings.command)
        return [sys.executable, "-m", "missionctl.agents.demo.scripted", ctx.agent.name]

    def env(self, ctx: LaunchContext) -> dict[str, str]:
        return dict(ctx.settings.env)
