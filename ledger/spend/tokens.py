"""Token counts, one usage record per model answer, and what they add up to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Tokens:
    """Tokens of one answer or many, split the way prices are.

    `input` is the uncached part of the prompt: OpenAI's counts include cached
    tokens in the prompt, Anthropic's do not, and the readers bring both to this.
    """

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0

    @property
    def total(self) -> int:
        """Every token the model read or wrote (what `budget_tokens` counts)."""
        return self.input + self.output + self.cache_read + self.cache_write

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(
            self.input + other.input,
            self.output + other.output,
            self.cache_read + other.cache_read,
            self.cache_write + other.cache_write,
        )

    def __sub__(self, other: Tokens) -> Tokens:
        return Tokens(
            self.input - other.input,
            self.output - other.output,
            self.cache_read - other.cache_read,
            self.cache_write - other.cache_write,
        )

    @classmethod
    def read(cls, usage: Mapping[str, Any], *keys: str) -> Tokens:
        """Tokens from a usage report, each field in turn under one of `keys` (in the
        order input, output, cache_read, cache_write); a missing or bad count is 0."""
        return cls(*(count(usage.get(key)) for key in keys))

    def to_json(self) -> dict[str, int]:
        return {**asdict(self), "total": self.total}


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """The tokens of one model answer, when it came, and from which model."""

    ts: float
    model: str
    tokens: Tokens


class Tally:
    """Usage records by key (a record written again replaces its earlier self), with
    running totals per model: a poll then costs what changed, not the whole history
    (measured in bench/spend.py)."""

    def __init__(self) -> None:
        self.records: dict[str, UsageRecord] = {}
        self.by_model: dict[str, Tokens] = {}

    def put(self, key: str, record: UsageRecord) -> None:
        old = self.records.get(key)
        if old is not None:
            self.by_model[old.model] -= old.tokens
        self.records[key] = record
        self.by_model[record.model] = self.by_model.get(record.model, Tokens()) + record.tokens

    def __len__(self) -> int:
        return len(self.records)


def count(value: object) -> int:
    """A token count from JSON: a non-negative whole number, anything else 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    if value != value or value < 0 or value > 1e15:  # NaN, negative, absurd
        return 0
    return int(value)
