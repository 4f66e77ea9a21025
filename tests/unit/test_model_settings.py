"""org.toml's model settings: the SDK providers' keys, prices, per-agent model and budgets."""

from __future__ import annotations

from pathlib import Path

import pytest

from missionctl import orgfile
from missionctl.errors import UserError

GOOD = """\
[org]
name = "lab"

[[agent]]
name = "r1"
provider = "openai"
model = "qwen3-coder"
budget_usd = 12.5
budget_tokens = 2_000_000

[[agent]]
name = "r2"
provider = "anthropic"

[[agent]]
name = "r3"
provider = "claude"
budget_usd = 5

[providers.openai]
base_url = "http://localhost:8000/v1"
api_key_env = "VLLM_KEY"
api = "responses"
max_tokens = 4096
temperature = 0.2
context_limit = 32768
approve = "auto"
prices = { "qwen3-coder" = { input = 0.1, output = 0.3 } }

[providers.claude]
prices = { "claude-opus-4-8" = { input = 4, output = 20, cache_read = 0.4, cache_write = 5 } }
"""


def test_good_settings_parse() -> None:
    org = orgfile.loads(GOOD)
    r1, r2, r3 = org.agents
    assert (r1.model, r1.budget_usd, r1.budget_tokens) == ("qwen3-coder", 12.5, 2_000_000)
    assert (r2.model, r2.budget_usd, r2.budget_tokens) == (None, None, None)
    assert r3.budget_usd == 5.0
    openai = org.provider_settings("openai")
    assert openai.api_key_env == "VLLM_KEY" and openai.api == "responses"
    assert (openai.max_tokens, openai.temperature, openai.context_limit) == (4096, 0.2, 32768)
    assert openai.approve == "auto"
    assert openai.prices == {"qwen3-coder": {"input": 0.1, "output": 0.3}}
    anthropic = org.provider_settings("anthropic")  # no table: the defaults
    assert anthropic.approve == "ask" and anthropic.api is None and anthropic.prices == {}
    assert org.provider_settings("claude").prices["claude-opus-4-8"]["cache_write"] == 5.0


def _org(agent: str = "", provider: str = "openai", table: str = "") -> str:
    return (
        f'[org]\nname = "lab"\n\n[[agent]]\nname = "r1"\nprovider = "{provider}"\n{agent}\n'
        f"[providers.{provider}]\n{table}"
    )


BAD = [
    ("key-is-a-key", _org(table='api_key_env = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"\n'), "providers.openai.api_key_env", "looks like an API key", 9),
    ("key-env-not-a-name", _org(table='api_key_env = "sk-abc123"\n'), "providers.openai.api_key_env", "not an environment variable name", 9),
    ("max-tokens-zero", _org(table="max_tokens = 0\n"), "providers.openai.max_tokens", "at least 1", 9),
    ("temperature-high", _org(table="temperature = 3\n"), "providers.openai.temperature", "from 0 to 2", 9),
    ("api-unknown", _org(table='api = "completions"\n'), "providers.openai.api", 'use "chat"', 9),
    ("api-on-anthropic", _org(provider="anthropic", table='api = "chat"\n'), "providers.anthropic.api", "only [providers.openai]", 9),
    ("context-small", _org(table="context_limit = 10\n"), "providers.openai.context_limit", "at least 1000", 9),
    ("approve-unknown", _org(table='approve = "never"\n'), "providers.openai.approve", '"ask"', 9),
    ("sdk-key-on-claude", _org(provider="claude", table="max_tokens = 10\n"), "providers.claude.max_tokens", "only the SDK providers", 9),
    ("prices-not-table", _org(table='prices = "cheap"\n'), "providers.openai.prices", "must map model names", 9),
    ("price-missing-output", _org(table="prices = { m = { input = 1 } }\n"), "providers.openai.prices", "needs input and output", 9),
    ("price-negative", _org(table="prices = { m = { input = -1, output = 1 } }\n"), "providers.openai.prices", "m.input must be a number", 9),
    ("price-unknown-kind", _org(table="prices = { m = { input = 1, output = 1, batch = 1 } }\n"), "providers.openai.prices", "unknown price 'batch'", 9),
    ("model-empty", _org(agent='model = " "'), "agent[0].model", "must be a model name", 7),
    ("budget-usd-zero", _org(agent="budget_usd = 0"), "agent[0].budget_usd", "above 0", 7),
    ("budget-usd-text", _org(agent='budget_usd = "5"'), "agent[0].budget_usd", "dollars", 7),
    ("budget-tokens-float", _org(agent="budget_tokens = 1.5"), "agent[0].budget_tokens", "whole number", 7),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "key", "why", "line"), [c[1:] for c in BAD], ids=[c[0] for c in BAD]
)
def test_bad_settings_are_one_line_naming_the_key_and_the_fix(
    text: str, key: str, why: str, line: int
) -> None:
    with pytest.raises(UserError) as info:
        orgfile.loads(text, Path("org/org.toml"))
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"org/org.toml:{line}: {key}: "), message
    assert why in message and ";" in message
    assert "sk_live_4eC39HqLyjWDarjtT1zdp7dc" not in message  # not even in the error
