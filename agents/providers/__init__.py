"""missionctl.agents.providers: how each kind of agent is started, one module each."""

from __future__ import annotations

from missionctl.agents.providers.base import LaunchContext, Provider
from missionctl.errors import UserError
from missionctl.orgfile import ProviderSettings


def provider_for(name: str, settings: ProviderSettings | None = None) -> Provider:
    """The provider called `name` (as in org.toml's `provider = ...`), for the command
    its settings name (what a provider can do may depend on the installed version)."""
    if name == "claude":
        from missionctl.agents.providers.claude import Claude

        return Claude()
    if name == "codex":
        from missionctl.agents.providers.codex import Codex

        command = settings.command if settings is not None else None
        return Codex(command[0]) if command else Codex()
    if name == "shell":
        from missionctl.agents.providers.shell import Shell

        return Shell()
    if name == "anthropic":
        from missionctl.agents.providers.anthropic_sdk import AnthropicSDK

        return AnthropicSDK()
    if name == "openai":
        from missionctl.agents.providers.openai_sdk import OpenAISDK

        return OpenAISDK()
    if name == "scripted":
        from missionctl.agents.providers.scripted import Scripted

        return Scripted()
    raise UserError(
        f"provider {name!r} cannot be started by this version of missionctl;"
        " use claude, codex, anthropic, openai, scripted or shell"
    )


__all__ = ["LaunchContext", "Provider", "provider_for"]
