"""Starting an SDK agent in its window: its settings, its client, its first message."""

from __future__ import annotations

import os
import sys

from missionctl import workspace as workspace_mod
from missionctl.agents.providers.base import LaunchContext
from missionctl.agents.sdk.config import SdkConfig
from missionctl.agents.sdk.hooks import HookReporter
from missionctl.agents.sdk.loop import SdkAgent
from missionctl.agents.sdk.terminal import Terminal
from missionctl.errors import UserError
from missionctl.ledger.spend.reader import SDK_PROVIDERS


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m missionctl.agents.sdk AGENT", file=sys.stderr)
        return 2
    name = argv[0]
    try:
        ws = workspace_mod.find()
        org = ws.load_org()
        spec = org.agent(name)
        if spec.provider not in SDK_PROVIDERS:
            raise UserError(f"{name} is a {spec.provider} agent, not an anthropic or openai one")
        config = SdkConfig.of(org, name)
        first = LaunchContext(ws, org, spec, ws.worktree(name)).first_message()
    except UserError as exc:
        print(f"missionctl: {exc}", file=sys.stderr)
        return 2
    environ = dict(os.environ)
    terminal = Terminal()
    if not config.api_key(environ) and not config.has_endpoint(environ):
        terminal.warn(f"${config.key_env} is not set: the API will refuse every request")

    def reload() -> SdkConfig:
        return SdkConfig.of(ws.load_org(), name)

    agent = SdkAgent(
        config,
        config.client(environ),
        worktree=ws.worktree(name),
        runtime=ws.runtime,
        environ=environ,
        first_message=first,
        terminal=terminal,
        hooks=HookReporter(),
        reload=reload,
    )
    try:
        return agent.run()
    except KeyboardInterrupt:
        return 130
