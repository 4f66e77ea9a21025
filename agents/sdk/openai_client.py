"""OpenAI's Chat Completions and Responses APIs through the official `openai` SDK.

Chat Completions (`api = "chat"`, the default) is what local servers speak
(vLLM, Ollama, llama.cpp, most gateways); Responses is OpenAI's newer API.
Both are streamed, stateless (the whole conversation is sent every time, so any
server works), and report usage (`stream_options.include_usage` for chat).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import openai

from missionctl.agents.sdk.client import (
    Answer,
    ModelClient,
    ModelError,
    SdkErrors,
    one_line,
)
from missionctl.agents.sdk.conversation import (
    AssistantTurn,
    Item,
    ToolCall,
    ToolResult,
    UserText,
    parse_arguments,
)
from missionctl.agents.sdk.tools import ToolSpec
from missionctl.ledger.spend import Tokens

_call_ids = itertools.count(1)


def _tokens(prompt: int, output: int, cached: int) -> Tokens:
    # OpenAI's prompt count includes the cached part.
    return Tokens(max(0, prompt - cached), output, cached, 0)


def to_chat_messages(system: str, items: Sequence[Item]) -> list[dict[str, Any]]:
    """The conversation as Chat Completions messages."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for item in items:
        if isinstance(item, UserText):
            messages.append({"role": "user", "content": item.text})
        elif isinstance(item, AssistantTurn):
            message: dict[str, Any] = {"role": "assistant", "content": item.text or None}
            if item.calls:
                message["tool_calls"] = [
                    {"id": c.id, "type": "function",
                     "function": {"name": c.name, "arguments": c.arguments_json()}}
                    for c in item.calls
                ]  # fmt: skip
            elif not item.text:
                message["content"] = "(no answer)"
            messages.append(message)
        elif isinstance(item, ToolResult):
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output})
    return messages


def to_responses_input(items: Sequence[Item]) -> list[dict[str, Any]]:
    """The conversation as Responses-API input items."""
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, UserText):
            out.append({"role": "user", "content": item.text})
        elif isinstance(item, AssistantTurn):
            if item.text:
                out.append({"role": "assistant", "content": item.text})
            out += [{"type": "function_call", "call_id": c.id, "name": c.name,
                     "arguments": c.arguments_json()} for c in item.calls]  # fmt: skip
        elif isinstance(item, ToolResult):
            out.append({"type": "function_call_output", "call_id": item.call_id,
                        "output": item.output})  # fmt: skip
    return out


class _OpenAIClient(ModelClient):
    errors = SdkErrors(
        openai.OpenAIError, openai.APIStatusError, openai.APIConnectionError, openai.APITimeoutError
    )
    sdk, sdk_timeout = openai.OpenAI, openai.Timeout


class ChatClient(_OpenAIClient):
    """Streams answers from a Chat Completions endpoint."""

    def _request(
        self, system: str, items: Sequence[Item], tools: Sequence[ToolSpec]
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "messages": to_chat_messages(system, items),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            request["tools"] = [
                {"type": "function",
                 "function": {"name": t.name, "description": t.description,
                              "parameters": t.parameters}}
                for t in tools
            ]  # fmt: skip
        if self.max_tokens is not None:
            # OpenAI's own newer models take only max_completion_tokens; local servers
            # read max_tokens (and some know nothing else).
            key = "max_completion_tokens" if self.base_url is None else "max_tokens"
            request[key] = self.max_tokens
        return request

    def _stream(self, request: dict[str, Any], on_text: Callable[[str], None]) -> Answer:
        text: list[str] = []
        slots: dict[int, dict[str, str]] = {}
        usage: Any = None
        model, finish = self.model, ""
        for chunk in self.client.chat.completions.create(**request):
            if chunk.usage is not None:
                usage = chunk.usage
            model = chunk.model or model
            for choice in chunk.choices:
                delta = choice.delta
                if delta.content:
                    on_text(delta.content)
                    text.append(delta.content)
                for n, call in enumerate(delta.tool_calls or []):
                    index = call.index if call.index is not None else n
                    slot = slots.setdefault(index, {"id": "", "name": "", "arguments": ""})
                    slot["id"] = call.id or slot["id"]
                    if call.function is not None:
                        slot["name"] = call.function.name or slot["name"]
                        slot["arguments"] += call.function.arguments or ""
                finish = choice.finish_reason or finish
        calls = []
        for _, slot in sorted(slots.items()):
            arguments, raw = parse_arguments(slot["arguments"])
            call_id = slot["id"] or f"call_{next(_call_ids)}"
            calls.append(ToolCall(call_id, slot["name"], arguments, raw))
        tokens = None
        if usage is not None:
            details = getattr(usage, "prompt_tokens_details", None)
            cached = getattr(details, "cached_tokens", 0) or 0
            tokens = _tokens(usage.prompt_tokens or 0, usage.completion_tokens or 0, cached)
        return Answer(
            text="".join(text),
            calls=calls,
            tokens=tokens,
            model=model,
            prompt_tokens=(usage.prompt_tokens or 0) if usage is not None else 0,
            truncated=finish == "length",
        )


class ResponsesClient(_OpenAIClient):
    """Streams answers from a Responses endpoint (stateless: `store=False`)."""

    def _request(
        self, system: str, items: Sequence[Item], tools: Sequence[ToolSpec]
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "instructions": system,
            "input": to_responses_input(items),
            "stream": True,
            "store": False,
        }
        if tools:
            request["tools"] = [
                {"type": "function", "name": t.name, "description": t.description,
                 "parameters": t.parameters, "strict": False}
                for t in tools
            ]  # fmt: skip
        if self.max_tokens is not None:
            request["max_output_tokens"] = self.max_tokens
        return request

    def _stream(self, request: dict[str, Any], on_text: Callable[[str], None]) -> Answer:
        text: list[str] = []
        calls: list[ToolCall] = []
        response: Any = None
        for event in self.client.responses.create(**request):
            if event.type == "response.output_text.delta":
                on_text(event.delta)
                text.append(event.delta)
            elif event.type == "response.output_item.done" and event.item.type == "function_call":
                arguments, raw = parse_arguments(event.item.arguments)
                calls.append(ToolCall(event.item.call_id, event.item.name, arguments, raw))
            elif event.type in ("response.completed", "response.incomplete"):
                response = event.response
            elif event.type == "response.failed":
                error = getattr(event.response, "error", None)
                said = getattr(error, "message", None) or "the response failed"
                raise ModelError(f"API error: {one_line(str(said))}", retry=True)
            elif event.type == "error":
                raise ModelError(f"API error: {one_line(str(event.message))}", retry=True)
        usage = getattr(response, "usage", None)
        tokens, prompt = None, 0
        if usage is not None:
            details = getattr(usage, "input_tokens_details", None)
            cached = getattr(details, "cached_tokens", 0) or 0
            prompt = usage.input_tokens or 0
            tokens = _tokens(prompt, usage.output_tokens or 0, cached)
        return Answer(
            text="".join(text),
            calls=calls,
            tokens=tokens,
            model=getattr(response, "model", None) or self.model,
            prompt_tokens=prompt,
            truncated=getattr(response, "status", "") == "incomplete",
        )
