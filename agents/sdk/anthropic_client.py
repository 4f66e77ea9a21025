"""The Anthropic Messages API through the official `anthropic` SDK, streamed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import anthropic

from missionctl.agents.sdk.client import (
    CONNECT_TIMEOUT_S,
    READ_TIMEOUT_S,
    Answer,
    classify,
)
from missionctl.agents.sdk.conversation import AssistantTurn, Item, ToolCall, ToolResult, UserText
from missionctl.agents.sdk.tools import ToolSpec
from missionctl.ledger.spend import Tokens

DEFAULT_MAX_TOKENS = 8192
_CACHE = {"type": "ephemeral"}


def to_messages(items: Sequence[Item]) -> list[dict[str, Any]]:
    """The conversation as Messages-API messages: roles alternate, so consecutive
    user items (tool results, then typed text) share one user message."""
    messages: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})

    for item in items:
        if isinstance(item, UserText):
            add("user", [{"type": "text", "text": item.text or "(empty)"}])
        elif isinstance(item, AssistantTurn):
            blocks: list[dict[str, Any]] = []
            if item.text:
                blocks.append({"type": "text", "text": item.text})
            blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                       for c in item.calls]  # fmt: skip
            add("assistant", blocks or [{"type": "text", "text": "(no answer)"}])
        elif isinstance(item, ToolResult):
            result = {
                "type": "tool_result",
                "tool_use_id": item.call_id,
                "content": item.output or "(no output)",
                "is_error": item.is_error,
            }
            add("user", [result])
    if messages:
        # The whole conversation so far is the cached prefix of the next request.
        messages[-1]["content"][-1] = {**messages[-1]["content"][-1], "cache_control": _CACHE}
    return messages


class AnthropicClient:
    """Streams answers from a Messages API (Anthropic's, or one at `base_url`)."""

    def __init__(
        self,
        model: str,
        *,
        api_key: str,
        base_url: str | None,
        key_env: str,
        max_tokens: int | None = None,
        temperature: float | None = None,
        timeout: float = READ_TIMEOUT_S,
    ) -> None:
        self.model = model
        self.key_env = key_env
        self.max_tokens = max_tokens or DEFAULT_MAX_TOKENS
        self.temperature = temperature
        self.client = anthropic.Anthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,  # retried by the agent, on screen (see client.py)
            timeout=anthropic.Timeout(timeout, connect=CONNECT_TIMEOUT_S),
        )

    def answer(
        self,
        system: str,
        items: Sequence[Item],
        tools: Sequence[ToolSpec],
        on_text: Callable[[str], None],
    ) -> Answer:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": [{"type": "text", "text": system, "cache_control": _CACHE}],
            "messages": to_messages(items),
        }
        if tools:
            kwargs["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in tools
            ]
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        try:
            with self.client.messages.stream(**kwargs) as stream:
                for event in stream:
                    if event.type == "text":
                        on_text(event.text)
                final = stream.get_final_message()
        except anthropic.AnthropicError as exc:
            raise classify(
                exc,
                status_error=anthropic.APIStatusError,
                connection_error=anthropic.APIConnectionError,
                timeout_error=anthropic.APITimeoutError,
                key_env=self.key_env,
                model=self.model,
            ) from None
        text = "".join(b.text for b in final.content if b.type == "text")
        calls = [
            ToolCall(b.id, b.name, dict(b.input) if isinstance(b.input, dict) else {})
            for b in final.content
            if b.type == "tool_use"
        ]
        usage = final.usage
        tokens = Tokens(
            usage.input_tokens or 0,
            usage.output_tokens or 0,
            usage.cache_read_input_tokens or 0,
            usage.cache_creation_input_tokens or 0,
        )
        return Answer(
            text=text,
            calls=calls,
            tokens=tokens,
            model=final.model or self.model,
            prompt_tokens=tokens.input + tokens.cache_read + tokens.cache_write,
            truncated=final.stop_reason == "max_tokens",
        )
