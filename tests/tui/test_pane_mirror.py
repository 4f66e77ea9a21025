"""The pane mirror in a running app, fed by the fake pane source."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Coroutine
from typing import Any

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.strip import Strip

from missionctl.agents.tmux.panes import PaneEvent, ScreenUpdate
from missionctl.tui.widgets.pane_mirror import PaneMirror
from tests.tui.fakes import FakePaneSource

WIDTH, HEIGHT = 30, 6


class CountingMirror(PaneMirror):
    """Counts the rows Textual asks it to render."""

    def __init__(self, agent: str) -> None:
        super().__init__(agent)
        self.rendered: Counter[int] = Counter()

    def render_line(self, y: int) -> Strip:
        self.rendered[y] += 1
        return super().render_line(y)


class MirrorApp(App[None]):
    CSS = f"CountingMirror {{ width: {WIDTH}; height: {HEIGHT}; }}"

    def __init__(self, source: FakePaneSource) -> None:
        super().__init__()
        self.source = source
        self.mirror = CountingMirror("r1")

    def compose(self) -> ComposeResult:
        yield self.mirror

    async def on_mount(self) -> None:
        self.source.subscribe(self.on_pane_event)
        await self.source.start()

    def on_pane_event(self, event: PaneEvent) -> None:
        if isinstance(event, ScreenUpdate) and event.agent == self.mirror.agent:
            self.mirror.update_screen(event.lines)


SCREEN = [f"line {i}" for i in range(HEIGHT)]


def _run(test: Coroutine[Any, Any, None]) -> None:
    asyncio.run(test)


async def _settle(app: MirrorApp, pilot: Pilot[None]) -> None:
    """Let the update's refresh reach the screen (two turns: message, then paint)."""
    await pilot.pause()
    await pilot.pause()


def test_a_screen_shows_row_for_row() -> None:
    async def scenario() -> None:
        source = FakePaneSource(["supervisor", "r1"])
        app = MirrorApp(source)
        async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
            source.show("r1", ["\x1b[31mred", "still red\x1b[0m", "plain"])
            await _settle(app, pilot)
            assert app.mirror.render_line(0).text == "red".ljust(WIDTH)
            assert app.mirror.render_line(2).text == "plain".ljust(WIDTH)
            assert app.mirror.render_line(5).text == " " * WIDTH
            styles = [seg.style for seg in app.mirror.render_line(1) if seg.text.strip()]
            assert styles and all(s is not None and s.color is not None for s in styles)
            # What reached the screen, not just the widget:
            assert "still&#160;red" in app.export_screenshot()

    _run(scenario())


def test_only_changed_rows_repaint() -> None:
    async def scenario() -> None:
        source = FakePaneSource(["supervisor", "r1"])
        app = MirrorApp(source)
        async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
            source.show("r1", SCREEN)
            await _settle(app, pilot)
            assert set(app.mirror.rendered) == set(range(HEIGHT))
            app.mirror.rendered.clear()

            changed = list(SCREEN)
            changed[2] = "line 2 changed"
            changed[4] = "line 4 changed"
            source.show("r1", changed)
            await _settle(app, pilot)
            assert set(app.mirror.rendered) == {2, 4}
            assert app.mirror.render_line(4).text.startswith("line 4 changed")

            app.mirror.rendered.clear()
            source.show("r1", changed)  # the same screen again: nothing to paint
            await _settle(app, pilot)
            assert not app.mirror.rendered

    _run(scenario())


def test_a_style_change_above_repaints_the_rows_it_carries_into() -> None:
    async def scenario() -> None:
        source = FakePaneSource(["supervisor", "r1"])
        app = MirrorApp(source)
        async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
            source.show("r1", ["a", "b", "c", "d"])
            await _settle(app, pilot)
            app.mirror.rendered.clear()
            # Row 1 now ends in red: row 2's raw text is the same but it turns red too.
            source.show("r1", ["a", "b\x1b[31m", "c", "d\x1b[0m"])
            await _settle(app, pilot)
            assert set(app.mirror.rendered) == {1, 2, 3}
            (seg,) = [s for s in app.mirror.render_line(2) if s.text.strip()]
            assert seg.style is not None and seg.style.color is not None
            assert seg.style.color.number == 1

    _run(scenario())


def test_a_shorter_screen_blanks_the_rows_it_lost() -> None:
    async def scenario() -> None:
        source = FakePaneSource(["supervisor", "r1"])
        app = MirrorApp(source)
        async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
            source.show("r1", SCREEN)
            await _settle(app, pilot)
            app.mirror.rendered.clear()
            source.show("r1", SCREEN[:2])
            await _settle(app, pilot)
            assert set(app.mirror.rendered) == set(range(2, HEIGHT))
            assert app.mirror.render_line(3).text == " " * WIDTH

    _run(scenario())


def test_a_resize_redraws_every_row_at_the_new_width() -> None:
    async def scenario() -> None:
        source = FakePaneSource(["supervisor", "r1"])
        app = MirrorApp(source)
        async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
            source.show("r1", ["x" * 50] * HEIGHT)
            await _settle(app, pilot)
            app.mirror.styles.width = 40
            await _settle(app, pilot)
            assert app.mirror.render_line(0).cell_length == 40
            assert app.mirror.render_line(0).text == "x" * 40

    _run(scenario())


def test_screens_for_other_agents_do_not_reach_this_mirror() -> None:
    async def scenario() -> None:
        source = FakePaneSource(["supervisor", "r1", "r2"])
        app = MirrorApp(source)
        async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
            source.show("r1", SCREEN)
            await _settle(app, pilot)
            app.mirror.rendered.clear()
            source.show("r2", ["other"] * HEIGHT)
            await _settle(app, pilot)
            assert not app.mirror.rendered
            assert app.mirror.lines == tuple(SCREEN)

    _run(scenario())


def test_a_screen_before_layout_shows_once_laid_out() -> None:
    async def scenario() -> None:
        mirror = PaneMirror("r1")
        mirror.update_screen(["early"])  # not mounted: nothing to repaint yet
        assert mirror.lines == ("early",)

        class Early(App[None]):
            def compose(self) -> ComposeResult:
                yield mirror

        async with Early().run_test(size=(WIDTH, HEIGHT)) as pilot:
            await pilot.pause()
            assert mirror.render_line(0).text.startswith("early")

    _run(scenario())
