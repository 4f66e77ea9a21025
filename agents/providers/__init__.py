"""Providers: how each kind of agent is started. One module each, one interface."""

from __future__ import annotations

from missionctl.agents.providers.base import LaunchContext, Provider
from missionctl.errors import UserError


def provider_for(name: str) -> Provider:
    """The provider called `name` (as in org.toml's `provider = ...`)."""
    if name == "claude":
        from missionctl.agents.providers.claude import Claude

        return Claude()
    if name == "codex":
        from missionctl.agents.providers.codex import Codex

        return Codex()
    if name == "shell":
        from missionctl.agents.providers.shell import Shell

        return Shell()
    if name == "scripted":
        from missionctl.agents.providers.scripted import Scripted

        return Scripted()
    raise UserError(
        f"provider {name!r} cannot be started by this version of missionctl;"
        " use claude, codex, scripted or shell"
    )


__all__ = ["LaunchContext", "Provider", "provider_for"]
