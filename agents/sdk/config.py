"""An SDK agent's settings: its provider's table in org.toml, its own overrides, defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from missionctl.ledger.spend import PriceTable, prices_for
from missionctl.orgfile import OrgSpec

if TYPE_CHECKING:
    from missionctl.agents.sdk.client import ModelClient

# Per provider: the model, the key's variable, the context window when org.toml
# names none, and the variable the SDK itself reads a base URL from.
DEFAULTS: dict[str, dict[str, str | int]] = {
    "anthropic": {"model": "claude-sonnet-4-5", "key_env": "ANTHROPIC_API_KEY",
                  "context_limit": 200_000, "base_url_env": "ANTHROPIC_BASE_URL"},
    "openai": {"model": "gpt-5-mini", "key_env": "OPENAI_API_KEY",
               "context_limit": 128_000, "base_url_env": "OPENAI_BASE_URL"},
}  # fmt: skip
# Every variable an agent's commands never need to see: keys stay with the agent.
KEY_VARIABLES = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "MISSIONCTL_ANTHROPIC_API_KEY")
# Sent where no key is set but a base URL is: local servers want some key, not a real one.
NO_KEY = "missionctl-no-key"


@dataclass(frozen=True)
class SdkConfig:
    """Everything an SDK agent is configured with."""

    agent: str
    role: str
    provider: str
    model: str
    base_url: str | None
    key_env: str
    api: str
    max_tokens: int | None
    temperature: float | None
    context_limit: int
    approve: str
    budget_usd: float | None
    budget_tokens: int | None
    prices: PriceTable

    @classmethod
    def of(cls, org: OrgSpec, agent: str) -> SdkConfig:
        """The settings of `agent` (an anthropic or openai agent) in `org`."""
        spec = org.agent(agent)
        settings = org.provider_settings(spec.provider)
        default = DEFAULTS[spec.provider]
        return cls(
            agent=agent,
            role=spec.role,
            provider=spec.provider,
            model=spec.model or settings.model or str(default["model"]),
            base_url=settings.base_url,
            key_env=settings.api_key_env or str(default["key_env"]),
            api=settings.api or "chat",
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
            context_limit=settings.context_limit or int(default["context_limit"]),
            approve=settings.approve,
            budget_usd=spec.budget_usd,
            budget_tokens=spec.budget_tokens,
            prices=prices_for(org, spec.provider),
        )

    def api_key(self, environ: Mapping[str, str]) -> str:
        """The key from the environment ("" when it is not set)."""
        return environ.get(self.key_env, "")

    def has_endpoint(self, environ: Mapping[str, str]) -> bool:
        """Whether a base URL is set (org.toml, or the SDK's own variable)."""
        return bool(self.base_url or environ.get(str(DEFAULTS[self.provider]["base_url_env"])))

    @property
    def api_name(self) -> str:
        if self.provider == "anthropic":
            return "Messages API"
        return "Responses API" if self.api == "responses" else "Chat Completions"

    def client(self, environ: Mapping[str, str]) -> ModelClient:
        """The client for this agent's API (the SDKs are imported here, when one runs:
        `missionctl status` and `up` read this module too)."""
        from missionctl.agents.sdk.anthropic_client import AnthropicClient
        from missionctl.agents.sdk.openai_client import ChatClient, ResponsesClient

        kind: type[ModelClient] = ChatClient
        if self.provider == "anthropic":
            kind = AnthropicClient
        elif self.api == "responses":
            kind = ResponsesClient
        return kind(
            self.model, api_key=self.api_key(environ) or NO_KEY, base_url=self.base_url,
            key_env=self.key_env, max_tokens=self.max_tokens, temperature=self.temperature,
        )  # fmt: skip

    def tool_env(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The environment of the agent's shell commands: its own, less any key."""
        secret = self.api_key(environ)
        drop = {*KEY_VARIABLES, self.key_env}
        return {
            k: v for k, v in environ.items() if k not in drop and not (secret and v == secret)
        } | {"GIT_TERMINAL_PROMPT": "0", "PAGER": "cat", "GIT_PAGER": "cat"}
