"""The conversation of an SDK agent, in one form for every API.

The agent keeps its conversation as these items; each client turns them into its
own wire format (Anthropic messages, Chat Completions messages, Responses input
items) for every request. One form means the context keeper shortens and
summarises the same way whatever the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ToolCall:
    """The model asks to run a tool."""

    id: str
    name: str
    arguments: dict[str, Any]
    # The arguments as the model sent them, when they were not a JSON object.
    raw: str | None = None

    def arguments_json(self) -> str:
        return self.raw if self.raw is not None else json.dumps(self.arguments)


@dataclass
class UserText:
    """What a person typed (or a mail notice), or the first message."""

    text: str


@dataclass
class AssistantTurn:
    """One answer of the model: its text and the tools it called."""

    text: str
    calls: list[ToolCall] = field(default_factory=list)


@dataclass
class ToolResult:
    """What a tool call gave back."""

    call_id: str
    name: str
    output: str
    is_error: bool = False
    shortened: bool = False  # the context keeper cut it down


Item = UserText | AssistantTurn | ToolResult


def parse_arguments(text: str) -> tuple[dict[str, Any], str | None]:
    """Tool arguments from the model's JSON text: (arguments, None), or ({}, text)
    when they are not a JSON object (the tool then says so to the model)."""
    if not text.strip():
        return {}, None
    try:
        value = json.loads(text)
    except ValueError:
        return {}, text
    return (value, None) if isinstance(value, dict) else ({}, text)


def item_chars(item: Item) -> int:
    """The size of an item in characters, to estimate its tokens."""
    if isinstance(item, UserText):
        return len(item.text)
    if isinstance(item, AssistantTurn):
        return len(item.text) + sum(len(c.name) + len(c.arguments_json()) + 20 for c in item.calls)
    return len(item.output) + 20


def render(items: list[Item]) -> str:
    """The conversation as plain text (what a summary request shows the model)."""
    parts = []
    for item in items:
        if isinstance(item, UserText):
            parts.append(f"[user]\n{item.text}")
        elif isinstance(item, AssistantTurn):
            if item.text:
                parts.append(f"[assistant]\n{item.text}")
            for call in item.calls:
                parts.append(f"[tool call: {call.name}] {call.arguments_json()}")
        else:
            label = "tool error" if item.is_error else "tool result"
            parts.append(f"[{label}: {item.name}]\n{item.output}")
    return "\n\n".join(parts)
