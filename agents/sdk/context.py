"""Keeping a long session inside the model's context window.

Before each request the agent estimates the prompt's size; near the limit it
first shortens old tool outputs (the bulk of a coding session), and if that is
not enough it asks the model for a summary and continues from the first message
and that summary. The estimate is characters / 4, calibrated by the prompt sizes
the server reports, so it follows the real tokenizer after the first answer.
"""

from __future__ import annotations

from dataclasses import replace

from missionctl.agents.sdk.conversation import (
    AssistantTurn,
    Item,
    ToolResult,
    UserText,
    item_chars,
    render,
)

CHARS_PER_TOKEN = 4.0
# Act when the prompt passes this share of the limit: the answer needs room too.
NEAR = 0.8
# Tool outputs kept whole in the first pass (the newest ones: what the model is using).
KEEP_RECENT = 4
SHORT_HEAD = 300
# A summary request shows the model at most this share of its window.
SUMMARY_SHARE = 0.6
SUMMARY_SYSTEM = (
    "You write the working notes a coding agent continues from after its context"
    " was cleared. Be specific and complete; plain text."
)
SUMMARY_ASK = (
    "The conversation above is too long for your context window. Summarise it for"
    " yourself, to continue the work from the summary alone: the task and its goal,"
    " what you have done and found (commands, files changed, run ids and numbers),"
    " decisions made and why, mail sent and received, what is unfinished, and the"
    " very next step."
)


def shortened(result: ToolResult) -> ToolResult:
    """`result` cut to its head, saying how much was dropped."""
    dropped = len(result.output) - SHORT_HEAD
    if dropped <= 0 or result.shortened:
        return result
    note = (
        f"\n… [{dropped} more characters dropped to save context; run the tool again to see them]"
    )
    return replace(result, output=result.output[:SHORT_HEAD] + note, shortened=True)


class ContextKeeper:
    """Estimates the prompt, and shortens or rebuilds the conversation to fit."""

    def __init__(self, limit: int, overhead_chars: int) -> None:
        self.limit = limit
        self.overhead_chars = overhead_chars  # the system prompt and tool definitions
        self.ratio = 1.0  # reported tokens per estimated token

    def _raw(self, items: list[Item]) -> float:
        return (self.overhead_chars + sum(item_chars(i) for i in items)) / CHARS_PER_TOKEN

    def estimate(self, items: list[Item]) -> int:
        """The prompt's size in tokens, as well as it can be told before sending it."""
        return int(self._raw(items) * self.ratio)

    def calibrate(self, items: list[Item], reported: int) -> None:
        """The server counted `reported` prompt tokens for `items`."""
        raw = self._raw(items)
        if raw > 0 and reported > 0:
            self.ratio = min(4.0, max(0.25, reported / raw))

    def near(self, items: list[Item]) -> bool:
        return self.estimate(items) >= NEAR * self.limit

    def shorten(self, items: list[Item]) -> int:
        """Shorten old tool outputs in place until the prompt fits (newest kept longest);
        return how many were shortened. Outputs the model has not answered yet are
        never shortened: it has not seen them."""
        done = 0
        answered = max((i for i, item in enumerate(items) if isinstance(item, AssistantTurn)),
                       default=0)  # fmt: skip
        for keep in (KEEP_RECENT, 1, 0):
            if not self.near(items):
                break
            results = [i for i, item in enumerate(items[:answered]) if isinstance(item, ToolResult)]
            for index in results[: max(0, len(results) - keep)]:
                item = items[index]
                assert isinstance(item, ToolResult)
                short = shortened(item)
                if short is not item:
                    items[index] = short
                    done += 1
        return done

    def summary_prompt(self, items: list[Item]) -> str:
        """The request for a summary: the conversation as text, its oldest part cut
        if even that is too long, then the ask."""
        room = int(SUMMARY_SHARE * self.limit * CHARS_PER_TOKEN / self.ratio)
        text = render(items)
        if len(text) > room:
            text = "[… the oldest part is left out]\n" + text[len(text) - room :]
        return f"{text}\n\n---\n{SUMMARY_ASK}"

    @staticmethod
    def restart(first_message: str, summary: str) -> list[Item]:
        """The conversation to continue from: the first message and the summary."""
        note = (
            "[missionctl] The conversation so far was replaced by your own summary, to fit"
            f" the model's context window. Your summary:\n\n{summary.strip()}\n\n"
            "Continue the work from here."
        )
        return [UserText(first_message), UserText(note)]

    def fallback(self, first_message: str, items: list[Item]) -> list[Item]:
        """No summary could be had: the first message and the newest part, as text."""
        room = int(0.3 * self.limit * CHARS_PER_TOKEN / self.ratio)
        tail = render(items[1:])[-room:]
        note = (
            "[missionctl] The conversation was too long for the model's context window and"
            f" no summary could be made; its most recent part:\n\n{tail}\n\nContinue from here."
        )
        return [UserText(first_message), UserText(note)]
