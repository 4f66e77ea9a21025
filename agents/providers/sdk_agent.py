"""What the `anthropic` and `openai` providers share: missionctl's own line program.

Both run `python -m missionctl.agents.sdk AGENT` (agents/sdk/): an interactive
agent with a `<agent>> ` prompt between turns, which reports its state itself
through `missionctl hook` (working, idle, needs-you, and every typed line as
UserPromptSubmit), so mail notices are typed and confirmed as for Claude Code.
"""

from __future__ import annotations

import os

from missionctl.agents.providers.base import LaunchContext, OwnProgram
from missionctl.agents.sdk.config import SdkConfig
from missionctl.errors import UserError


class SdkProvider(OwnProgram):
    name = "sdk"
    module = "missionctl.agents.sdk"

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
