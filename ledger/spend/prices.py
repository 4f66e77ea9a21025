"""What tokens cost: a price per model, and org.toml's overrides.

Prices are USD per million tokens, as Anthropic and OpenAI publish them (their
pricing pages, read for models current in late 2026). A model is matched by the
longest name in the table that its own name starts with, after dropping a
provider prefix ("openai/") and a date suffix ("-20250929"), so dated snapshots
find their family. Models served locally have no price until org.toml gives one:
their tokens are counted and their cost shown as unknown, never as zero.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from missionctl.ledger.spend.tokens import Tokens

_DATE_SUFFIX = re.compile(r"(-\d{8}|-\d{4}-\d{2}-\d{2}|@\d{8}|-latest)$")


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens of each kind."""

    input: float
    output: float
    cache_read: float
    cache_write: float

    def cost(self, tokens: Tokens) -> float:
        """The price of `tokens`, in USD."""
        return (
            tokens.input * self.input
            + tokens.output * self.output
            + tokens.cache_read * self.cache_read
            + tokens.cache_write * self.cache_write
        ) / 1e6


def _anthropic(input: float, output: float) -> ModelPrice:
    # Anthropic: cache reads at a tenth of the input price, 5-minute writes at 1.25x.
    return ModelPrice(input, output, input / 10, input * 1.25)


def _openai(input: float, output: float, cached: float) -> ModelPrice:
    # OpenAI charges nothing extra to write its cache.
    return ModelPrice(input, output, cached, input)


DEFAULT_PRICES: dict[str, ModelPrice] = {
    "claude-opus-5": _anthropic(5, 25),
    "claude-opus-4-5": _anthropic(5, 25),
    "claude-opus-4-6": _anthropic(5, 25),
    "claude-opus-4-7": _anthropic(5, 25),
    "claude-opus-4-8": _anthropic(5, 25),
    "claude-opus-4": _anthropic(15, 75),  # 4.0 and 4.1
    "claude-3-opus": _anthropic(15, 75),
    "claude-sonnet-5": _anthropic(2, 10),
    "claude-sonnet-4": _anthropic(3, 15),
    "claude-3-7-sonnet": _anthropic(3, 15),
    "claude-3-5-sonnet": _anthropic(3, 15),
    "claude-haiku-4": _anthropic(1, 5),
    "claude-3-5-haiku": _anthropic(0.8, 4),
    "claude-3-haiku": ModelPrice(0.25, 1.25, 0.03, 0.30),
    "gpt-5": _openai(1.25, 10, 0.125),  # gpt-5, gpt-5-codex, gpt-5.1
    "gpt-5-mini": _openai(0.25, 2, 0.025),
    "gpt-5-nano": _openai(0.05, 0.4, 0.005),
    "gpt-5-pro": _openai(15, 120, 15),
    "gpt-5.4": _openai(2.5, 15, 0.25),
    "gpt-5.4-mini": _openai(0.75, 4.5, 0.075),
    "gpt-4.1": _openai(2, 8, 0.5),
    "gpt-4.1-mini": _openai(0.4, 1.6, 0.1),
    "gpt-4.1-nano": _openai(0.1, 0.4, 0.025),
    "gpt-4o": _openai(2.5, 10, 1.25),
    "gpt-4o-mini": _openai(0.15, 0.6, 0.075),
    "o3": _openai(2, 8, 0.5),
    "o3-mini": _openai(1.1, 4.4, 0.55),
    "o3-pro": _openai(20, 80, 20),
    "o4-mini": _openai(1.1, 4.4, 0.275),
}


def model_family(model: str) -> str:
    """The name prices are looked up by: lower case, no provider prefix, no date."""
    name = model.strip().lower().rsplit("/", 1)[-1]
    return _DATE_SUFFIX.sub("", name)


def _longest_prefix(name: str, table: Mapping[str, ModelPrice]) -> ModelPrice | None:
    best = ""
    for key in table:
        if name.startswith(key) and len(key) > len(best):
            best = key
    return table[best] if best else None


class PriceTable:
    """The built-in prices with org.toml's overrides (`prices = {...}`) on top."""

    def __init__(self, overrides: Mapping[str, Mapping[str, float]] | None = None) -> None:
        self.overrides: dict[str, ModelPrice] = {}
        self._found: dict[str, ModelPrice | None] = {}  # a poll prices thousands of records
        for model, price in (overrides or {}).items():
            # Cache prices left out count as full input: never cheaper than stated.
            self.overrides[model_family(model)] = ModelPrice(
                price["input"],
                price["output"],
                price.get("cache_read", price["input"]),
                price.get("cache_write", price["input"]),
            )

    def price(self, model: str) -> ModelPrice | None:
        """The price of `model`, or None when neither table knows it."""
        if model not in self._found:
            name = model_family(model)
            self._found[model] = _longest_prefix(name, self.overrides) or _longest_prefix(
                name, DEFAULT_PRICES
            )
        return self._found[model]
