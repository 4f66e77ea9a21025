"""The `openai` provider: an agent on the official `openai` SDK (Chat Completions by
default, which local servers speak; or the Responses API)."""

from __future__ import annotations

from missionctl.agents.providers.sdk_agent import SdkProvider


class OpenAISDK(SdkProvider):
    name = "openai"
