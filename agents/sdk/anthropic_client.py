"""The Anthropic Messages API through the official `anthropic` SDK, streamed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import anthropic

from missionctl.agents.sdk.client import Answer, ModelClient, SdkErrors
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


class AnthropicClient(ModelClient):
    """Streams answers from a Messages API (Anthropic's, or one at `base_url`)."""

    errors = SdkErrors(
        anthropic.AnthropicError,
        anthropic.APIStatusError,
        anthropic.APIConnectionError,
        anthropic.APITimeoutError,
    )
    sdk, sdk_timeout = anthropic.Anthropic, anthropic.Timeout

    def _request(
        self, system: str, items: Sequence[Item], tools: Sequence[ToolSpec]
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "max_tokens": self.max_tokens or DEFAULT_MAX_TOKENS,
            "system": [{"type": "text", "text": system, "cache_control": _CACHE}],
            "messages": to_messages(items),
        }
        if tools:
            request["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in tools
            ]
        return request

    def _stream(self, request: dict[str, Any], on_text: Callable[[str], None]) -> Answer:
        with self.client.messages.stream(**request) as stream:
            for event in stream:
                if event.type == "text":
                    on_text(event.text)
            final = stream.get_final_message()
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
