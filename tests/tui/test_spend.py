"""Tokens and cost in the grid: the metrics strip shows them, the header warns past a budget."""

from __future__ import annotations

from dataclasses import replace

from missionctl.ledger.spend import Spend, Tokens
from tests.tui.fake_org import FakeOrg
from tests.tui.test_app import make_app, until


async def test_the_strip_shows_tokens_and_cost_and_the_header_a_spent_budget() -> None:
    org = FakeOrg()
    spent = Spend(Tokens(input=30_000, output=11_200, cache_read=1_000_000), usd=0.42)
    over = Spend(Tokens(input=2_000_000, output=400_000), usd=12.0)
    views = list(org.snap.agents)
    views[0] = replace(views[0], spend=spent)
    views[1] = replace(views[1], spend=over, budget_warning="over budget: $12.00 of $10.00")
    org.snap = replace(org.snap, agents=tuple(views))
    app, _ = make_app(org)
    async with app.run_test(size=(200, 60)) as pilot:
        first, second, third = app.grid.cells[:3]
        await until(pilot, lambda: third.view is not None)
        strip = str(first.strip.render())
        assert "bpb 2.410" in strip and "1.0M tok $0.42" in strip
        assert "⚠" not in str(first.header.render())
        assert "2.4M tok $12.00" in str(second.strip.render())
        assert "⚠ over budget: $12.00 of $10.00" in str(second.header.render())
        # Agents without a model (or before any answer was counted) show no spend.
        assert " tok $" not in str(third.strip.render())
