"""The ledger in the app: `l` lists the experiments, Enter opens one, the view follows the
ledger as runs end; `d` shows the latest standup digest; strips name experiment and arm."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from missionctl.ledger.board import LedgerBoard
from missionctl.tui.app import MissionControlApp
from missionctl.tui.screens.digest import NO_DIGEST, DigestScreen
from missionctl.tui.screens.ledger import EMPTY, ExperimentScreen, LedgerScreen
from tests.tui.fake_ledger import board, empty_board
from tests.tui.fake_org import FakeOrg, mail
from tests.tui.test_app import make_app, until


def _text(screen: object, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def ledger_open(
    first: LedgerBoard,
) -> AsyncIterator[tuple[MissionControlApp, FakeOrg, Pilot[None]]]:
    """The app on an org whose ledger shows `first`; once the app has that board, `l`
    has opened the ledger screen."""
    app, org = make_app()
    org.board = first
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: app.board is not None)
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LedgerScreen))
        yield app, org, pilot


async def test_l_lists_every_experiment_with_its_progress_and_curve() -> None:
    async with ledger_open(board()) as (app, _, pilot):
        screen = app.screen
        table = screen.query_one("#experiments", DataTable)
        assert table.row_count == 2
        first = [str(c) for c in table.get_row_at(0)]
        assert first[:5] == ["softcap-off", "chief", "baseline, nocap", "12/12", "non-inferior"]
        second = [str(c) for c in table.get_row_at(1)]
        assert second[4] == "confounded" and second[5].startswith("budget: run r7-")
        title = _text(screen, "#ledger-title")
        assert "2 experiments · 1 decided · 1 claim refused" in title
        claims = _text(screen, "#claims")
        assert (
            "r7: 'bigger hidden size lowers val loss' → refused (confounded): budget, config"
            in claims
        )
        curve = _text(screen, "#progress")
        assert "*A 3.2010  lr-warmup: superior (warm)" in curve
        assert "*B 3.1910  softcap-off: non-inferior (nocap)" in curve and "org@5d6e7f8" in curve
        assert "hours since the org started" in curve
        await pilot.press("a")
        assert "CPU-hours" in _text(screen, "#progress").splitlines()[-5]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.grid)


async def test_enter_shows_one_experiment_with_its_interval_against_the_margin() -> None:
    async with ledger_open(board()) as (app, _, pilot):
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ExperimentScreen))
        screen = app.screen
        assert screen.query_one("#pairs", DataTable).row_count == 6
        prereg = _text(screen, "#prereg")
        assert prereg.startswith("softcap-off: Can the logit softcap be removed")
        assert "noninferiority on val_bpb (lower is better), margin 0.01" in prereg
        assert "decision: non-inferior" in prereg
        intervals = _text(screen, "#intervals").splitlines()
        assert intervals[0].startswith("nocap - baseline (val_bpb): mean -0.0027, 90% interval")
        drawn = intervals[1]
        # The interval lies left of the margin mark, and holds its mean and zero.
        assert drawn.index("├") < drawn.index("●") < drawn.index("┤") < drawn.index("│")
        assert drawn.index("├") < drawn.index("┊") < drawn.index("┤")
        assert "+0.01" in intervals[2]
        assert _text(screen, "#reasons").startswith("- non-inferior: nocap - baseline")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, LedgerScreen))


async def test_an_empty_ledger_says_how_to_start_one() -> None:
    async with ledger_open(empty_board()) as (app, _, _):
        assert app.screen.query_one("#experiments", DataTable).row_count == 0
        assert _text(app.screen, "#ledger-empty") == EMPTY
        assert "no decided experiment yet" in _text(app.screen, "#progress")
        assert _text(app.screen, "#claims").startswith("Claims: none yet")


async def test_the_open_views_update_when_a_run_of_the_shown_experiment_ends() -> None:
    # One treatment run is still going.
    async with ledger_open(board(softcap_done=5)) as (app, org, pilot):
        ledger_screen = app.screen
        table = ledger_screen.query_one("#experiments", DataTable)
        assert [str(c) for c in table.get_row_at(0)][3:5] == ["11/12", "pending"]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ExperimentScreen))
        assert "decision: pending" in _text(app.screen, "#prereg")
        assert "missing: arm nocap seed 6" in _text(app.screen, "#reasons")

        org.board = board()  # the run ended: the next snapshot brings the new board
        await until(pilot, lambda: "decision: non-inferior" in _text(app.screen, "#prereg"))
        assert "missing" not in _text(app.screen, "#reasons")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is ledger_screen)
        assert [str(c) for c in table.get_row_at(0)][3:5] == ["12/12", "non-inferior"]


async def test_the_metrics_strip_names_the_experiment_and_arm_of_the_run() -> None:
    app, _ = make_app()
    async with app.run_test(size=(200, 60)) as pilot:
        await until(pilot, lambda: app.grid.cells[1].view is not None)
        assert str(app.grid.cells[0].strip.render()).startswith(
            "run …9f2a softcap-off/baseline 120/400"
        )
        assert str(app.grid.cells[1].strip.render()).startswith("run …9f2a softcap-off/nocap ")
        assert "softcap-off" not in str(app.grid.cells[2].strip.render())  # a bare run


async def test_d_shows_the_latest_standup_digest() -> None:
    app, org = make_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DigestScreen))
        assert _text(app.screen, "#digest-text") == NO_DIGEST
        await pilot.press("escape")
        digest = mail(3, "supervisor", "human", "standup", "standup digest: 2/3 replied")
        org.digest = digest
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DigestScreen))
        text = _text(app.screen, "#digest-text")
        assert text.startswith("standup digest: 2/3 replied") and digest.body in text


async def test_the_app_can_open_on_the_ledger() -> None:
    """`missionctl app --screen ledger` (the README's screenshot of the running demo)."""
    app, org = make_app()
    app.start_screen = "ledger"
    org.board = board()
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LedgerScreen))
        await until(pilot, lambda: app.screen.query_one("#experiments", DataTable).row_count == 2)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.grid)
