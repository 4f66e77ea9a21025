"""The `anthropic` provider: an agent on the official `anthropic` SDK (Messages API)."""

from __future__ import annotations

from missionctl.agents.providers.sdk_agent import SdkProvider


class AnthropicSDK(SdkProvider):
    name = "anthropic"
