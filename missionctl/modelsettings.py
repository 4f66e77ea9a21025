"""The model settings in `org.toml`: the SDK agents' `[providers.anthropic|openai]`
keys, price tables, and each agent's `model` and budgets.

Kept apart from `orgfile.py` so that the schema's general checks and these grow
separately; `orgfile.loads` calls in here with its checker, so every error keeps
the file, line, key and fix form.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from missionctl.errors import UserError

# Providers built on the official SDKs (agents/sdk/): they take the keys below.
SDK_PROVIDERS = ("anthropic", "openai")
SDK_KEYS = frozenset(
    {"api_key_env", "max_tokens", "temperature", "api", "context_limit", "approve"}
)
# Keys every provider takes on top of orgfile's own.
MODEL_KEYS = SDK_KEYS | {"prices"}
AGENT_KEYS = frozenset({"model", "budget_usd", "budget_tokens"})
OPENAI_APIS = ("chat", "responses")
APPROVALS = ("ask", "auto")
PRICE_KEYS = ("input", "output", "cache_read", "cache_write")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
MIN_CONTEXT = 1000


class Checker(Protocol):
    """What orgfile's checker offers: an error naming the file, line, key and fix."""

    def fail(
        self, table: str, key: str | None, problem: str, fix: str, index: int | None = None
    ) -> UserError: ...


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def looks_like_key(text: str) -> bool:
    """Whether `text` looks like an API key rather than a variable's name: so that a
    key pasted there is refused before org.toml (a versioned file) carries it on."""
    if text.startswith(("sk_", "sk-")) and any(c.islower() for c in text):
        return True
    mixed = any(c.islower() for c in text) and any(c.isupper() for c in text)
    return len(text) >= 24 and mixed and any(c.isdigit() for c in text)


@dataclass(frozen=True)
class _Rule:
    """A key that needs only its value checked: `problem` may name `{value!r}`."""

    ok: Callable[[Any], bool]
    problem: str
    fix: str
    convert: Callable[[Any], Any] = lambda value: value


_SIMPLE = {
    "max_tokens": _Rule(
        lambda v: _whole(v) and v >= 1, "must be a whole number of at least 1",
        "e.g. `max_tokens = 8192` (the most the model may write per answer)",
    ),
    "temperature": _Rule(
        lambda v: _number(v) and 0 <= v <= 2, "must be a number from 0 to 2",
        "e.g. `temperature = 0.2`, or leave it out for the model's default", float,
    ),
    "context_limit": _Rule(
        lambda v: _whole(v) and v >= MIN_CONTEXT,
        f"must be a whole number of tokens, at least {MIN_CONTEXT}",
        "e.g. `context_limit = 32768` for a model served with a 32k window",
    ),
    "approve": _Rule(
        lambda v: v in APPROVALS, "{value!r} is not an approval mode",
        'use "ask" (risky commands wait for you) or "auto"',
    ),
}  # fmt: skip


def provider_settings(
    check: Checker, table: str, provider: str, settings: Mapping[str, Any]
) -> dict[str, Any]:
    """The model keys of one `[providers.X]` table, validated, as ProviderSettings fields."""
    out: dict[str, Any] = {}
    if provider not in SDK_PROVIDERS:
        for key in settings:
            if key in SDK_KEYS:
                raise check.fail(
                    table, key, f"only the SDK providers take {key!r}",
                    "move it under [providers.anthropic] or [providers.openai]",
                )  # fmt: skip
    env_name = settings.get("api_key_env")
    if env_name is not None:
        if not isinstance(env_name, str) or not _ENV_NAME.match(env_name):
            raise check.fail(
                table, "api_key_env", f"{env_name!r} is not an environment variable name",
                'name the variable that holds the key, e.g. `api_key_env = "OPENAI_API_KEY"`',
            )  # fmt: skip
        if looks_like_key(env_name):
            raise check.fail(
                table, "api_key_env", "this looks like an API key, not a variable's name",
                "remove the key from org.toml, export it, and name its variable here",
            )  # fmt: skip
        out["api_key_env"] = env_name
    api = settings.get("api")
    if api is not None:
        if provider != "openai":
            raise check.fail(
                table, "api", "only [providers.openai] chooses an API",
                "remove it (the anthropic provider speaks the Messages API)",
            )  # fmt: skip
        if api not in OPENAI_APIS:
            raise check.fail(
                table, "api", f"unknown API {api!r}",
                'use "chat" (Chat Completions, what local servers speak) or "responses"',
            )  # fmt: skip
        out["api"] = api
    for key, rule in _SIMPLE.items():
        value = settings.get(key)
        if value is None:
            continue
        if not rule.ok(value):
            raise check.fail(table, key, rule.problem.format(value=value), rule.fix)
        out[key] = rule.convert(value)
    if "prices" in settings:
        out["prices"] = prices(check, table, settings["prices"])
    return out


def prices(check: Checker, table: str, raw: Any) -> dict[str, dict[str, float]]:
    """A price table: model -> USD per million tokens of each kind."""
    example = '`prices = { "my-model" = { input = 0.5, output = 1.5 } }` (USD per million tokens)'
    if not isinstance(raw, dict):
        raise check.fail(table, "prices", "must map model names to prices", f"write {example}")
    out: dict[str, dict[str, float]] = {}
    for model, price in raw.items():
        if not isinstance(price, dict) or not {"input", "output"} <= set(price):
            raise check.fail(
                table, "prices", f"the price of {model!r} needs input and output",
                f"write {example}",
            )  # fmt: skip
        for key, value in price.items():
            if key not in PRICE_KEYS:
                raise check.fail(
                    table, "prices", f"unknown price {key!r} for {model!r}",
                    "the valid ones are " + ", ".join(PRICE_KEYS),
                )  # fmt: skip
            if not _number(value) or value < 0:
                raise check.fail(
                    table, "prices", f"{model}.{key} must be a number of at least 0",
                    f"write {example}",
                )  # fmt: skip
        out[str(model)] = {k: float(v) for k, v in price.items()}
    return out


def agent_settings(check: Checker, raw: Mapping[str, Any], index: int) -> dict[str, Any]:
    """An `[[agent]]`'s model and budgets, validated, as AgentSpec fields."""
    out: dict[str, Any] = {}
    model = raw.get("model")
    if model is not None:
        if not isinstance(model, str) or not model.strip():
            raise check.fail(
                "agent", "model", "must be a model name", 'e.g. `model = "gpt-5-mini"`', index
            )
        out["model"] = model
    budget_usd = raw.get("budget_usd")
    if budget_usd is not None:
        if not _number(budget_usd) or budget_usd <= 0:
            raise check.fail(
                "agent", "budget_usd", "must be a number of dollars above 0",
                "e.g. `budget_usd = 20`, or leave it out for no budget", index,
            )  # fmt: skip
        out["budget_usd"] = float(budget_usd)
    budget_tokens = raw.get("budget_tokens")
    if budget_tokens is not None:
        if not _whole(budget_tokens) or budget_tokens < 1:
            raise check.fail(
                "agent", "budget_tokens", "must be a whole number of tokens above 0",
                "e.g. `budget_tokens = 5_000_000`, or leave it out for no budget", index,
            )  # fmt: skip
        out["budget_tokens"] = budget_tokens
    return out
