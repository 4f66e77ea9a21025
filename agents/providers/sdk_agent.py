"""What the `anthropic` and `openai` providers share: missionctl's own line program.

Both run `python -m missionctl.agents.sdk AGENT` (agents/sdk/): an interactive
agent with a `<agent>> ` prompt between turns, which reports its state itself
through `missionctl hook` (working, idle, needs-you, and every typed line as
UserPromptSubmit), so mail notices are typed and confirmed as for Claude Code.
"""

from __future__ import annotations

import os
import sys

from missionctl.agents.providers.base import LaunchContext
from missionctl.agents.sdk.config import SdkConfig
from missionctl.agents.state.onscreen import LineProgram
from missionctl.errors import UserError


class SdkProvider(LineProgram):
    name = "sdk"
    submit_delay = 0.1
    notice_channel = "type"
    line_program = True
    has_hooks = True
    reports_work = True  # `hook working` at each turn and tool call
    has_prompt_hook = True  # each typed line is reported with its text

    def check(self, ctx: LaunchContext) -> None:
        """The key must be in the environment, unless a base URL points at a local server."""
        config = SdkConfig.of(ctx.org, ctx.agent.name)
        environ = {**os.environ, **ctx.settings.env}
        if not config.api_key(environ) and not config.has_endpoint(environ):
            raise UserError(
                f"agent {ctx.agent.name} ({self.name}) needs an API key in ${config.key_env};"
                f" export it before `missionctl up`, or set base_url under"
                f" [providers.{self.name}] for a server that needs none"
            )

    def prepare(self, ctx: LaunchContext) -> None:
        """Nothing to install: the program reports its state itself."""

    def command(self, ctx: LaunchContext) -> list[str]:
        if ctx.settings.command:
            return list(ctx.settings.command)
        return [sys.executable, "-m", "missionctl.agents.sdk", ctx.agent.name]

    def env(self, ctx: LaunchContext) -> dict[str, str]:
        return dict(ctx.settings.env)
