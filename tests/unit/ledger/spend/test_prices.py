"""Prices: a model finds its family, org.toml overrides win, unknown models stay unknown."""

from __future__ import annotations

import pytest

from missionctl.ledger.spend import ModelPrice, PriceTable, Spend, Tokens, budget_warning, summarise
from missionctl.ledger.spend.prices import model_family
from missionctl.ledger.spend.tokens import UsageRecord


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("anthropic/claude-opus-4-8", "claude-opus-4-8"),
        ("openai/gpt-5-mini-2025-08-07", "gpt-5-mini"),
        ("claude-3-5-haiku@20241022", "claude-3-5-haiku"),
        ("GPT-4o-latest", "gpt-4o"),
    ],
)
def test_model_names_lose_prefixes_and_dates(model: str, family: str) -> None:
    assert model_family(model) == family


@pytest.mark.parametrize(
    ("model", "input", "output"),
    [
        ("claude-sonnet-4-5-20250929", 3, 15),
        ("claude-opus-4-8", 5, 25),  # the 4.5+ price, not the older Opus 4's
        ("claude-opus-4-1-20250805", 15, 75),
        ("claude-haiku-4-5", 1, 5),
        ("gpt-5-codex", 1.25, 10),
        ("gpt-5-mini", 0.25, 2),  # the longest match, not gpt-5's
        ("gpt-5.4-mini", 0.75, 4.5),
        ("o3-pro", 20, 80),
    ],
)
def test_models_find_their_family_price(model: str, input: float, output: float) -> None:
    price = PriceTable().price(model)
    assert price is not None and (price.input, price.output) == (input, output)


def test_unknown_models_have_no_price_and_org_toml_can_give_one() -> None:
    assert PriceTable().price("qwen3-coder-30b") is None
    table = PriceTable({"qwen3-coder": {"input": 0.2, "output": 0.6},
                        "gpt-5": {"input": 1.0, "output": 8.0, "cache_read": 0.1}})  # fmt: skip
    local = table.price("Qwen3-Coder-30B")
    # Cache prices left out are the full input price: never cheaper than stated.
    assert local == ModelPrice(0.2, 0.6, 0.2, 0.2)
    assert table.price("gpt-5-2026-01-01") == ModelPrice(1.0, 8.0, 0.1, 1.0)  # override wins
    assert table.price("gpt-5-mini") == ModelPrice(1.0, 8.0, 0.1, 1.0)  # overrides match first


def test_cost_weighs_each_kind_of_token() -> None:
    price = ModelPrice(input=3, output=15, cache_read=0.3, cache_write=3.75)
    tokens = Tokens(input=1_000_000, output=100_000, cache_read=2_000_000, cache_write=400_000)
    assert price.cost(tokens) == pytest.approx(3 + 1.5 + 0.6 + 1.5)
    assert tokens.total == 3_500_000


def test_a_spend_sums_a_window_and_lists_unpriced_models() -> None:
    records = [
        UsageRecord(100.0, "claude-sonnet-4-5", Tokens(1_000_000, 0)),
        UsageRecord(200.0, "local-llama", Tokens(500, 50)),
        UsageRecord(300.0, "claude-sonnet-4-5", Tokens(0, 1_000_000)),
    ]
    spend = summarise(records, PriceTable())
    assert spend.usd == pytest.approx(18.0) and spend.unpriced == ("local-llama",)
    assert spend.cost_text == "$18.00+?" and spend.answers == 3
    window = summarise(records, PriceTable(), since=150.0, until=300.0)
    assert window.tokens == Tokens(500, 50) and window.cost_text == "$?"
    assert summarise([], PriceTable()).cost_text == "$0.00"
    assert Spend(usd=0.0042).cost_text == "$0.0042"


def test_budget_warnings() -> None:
    spend = Spend(Tokens(900_000, 150_000), usd=5.2)
    assert budget_warning(spend, 5.0, None) == "over budget: $5.20 of $5.00"
    assert budget_warning(spend, None, 1_000_000) == "over budget: 1.1M of 1.0M tokens"
    assert budget_warning(spend, 6.0, 2_000_000) is None
    assert budget_warning(spend, None, None) is None
