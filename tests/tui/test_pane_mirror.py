"""The pane mirror in a running app, fed by the fake pane source."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
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


@dataclass
class Mirrored:
    """A running MirrorApp and the fake source feeding it."""

    app: MirrorApp
    source: FakePaneSource
    pilot: Pilot[None]

    @property
    def mirror(self) -> CountingMirror:
        return self.app.mirror

    async def settle(self) -> None:
        """Let an update's refresh reach the screen (two turns: message, then paint)."""
        await self.pilot.pause()
        await self.pilot.pause()

    async def show(self, lines: list[str], agent: str = "r1") -> None:
        """The agent's pane shows `lines`, and the app has painted what follows."""
        self.source.show(agent, lines)
        await self.settle()


@pytest.fixture
async def mirrored() -> AsyncIterator[Mirrored]:
    """A MirrorApp mirroring r1, running, fed by a fake source that also has r2."""
    source = FakePaneSource(["supervisor", "r1", "r2"])
    app = MirrorApp(source)
    async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
        yield Mirrored(app, source, pilot)


async def test_a_screen_shows_row_for_row(mirrored: Mirrored) -> None:
    await mirrored.show(["\x1b[31mred", "still red\x1b[0m", "plain"])
    assert mirrored.mirror.render_line(0).text == "red".ljust(WIDTH)
    assert mirrored.mirror.render_line(2).text == "plain".ljust(WIDTH)
    assert mirrored.mirror.render_line(5).text == " " * WIDTH
    styles = [seg.style for seg in mirrored.mirror.render_line(1) if seg.text.strip()]
    assert styles and all(s is not None and s.color is not None for s in styles)
    # What reached the screen, not just the widget:
    assert "still&#160;red" in mirrored.app.export_screenshot()


async def test_only_changed_rows_repaint(mirrored: Mirrored) -> None:
    await mirrored.show(SCREEN)
    assert set(mirrored.mirror.rendered) == set(range(HEIGHT))
    mirrored.mirror.rendered.clear()

    changed = list(SCREEN)
    changed[2] = "line 2 changed"
    changed[4] = "line 4 changed"
    await mirrored.show(changed)
    assert set(mirrored.mirror.rendered) == {2, 4}
    assert mirrored.mirror.render_line(4).text.startswith("line 4 changed")

    mirrored.mirror.rendered.clear()
    await mirrored.show(changed)  # the same screen again: nothing to paint
    assert not mirrored.mirror.rendered


async def test_a_style_change_above_repaints_the_rows_it_carries_into(mirrored: Mirrored) -> None:
    await mirrored.show(["a", "b", "c", "d"])
    mirrored.mirror.rendered.clear()
    # Row 1 now ends in red: row 2's raw text is the same but it turns red too.
    await mirrored.show(["a", "b\x1b[31m", "c", "d\x1b[0m"])
    assert set(mirrored.mirror.rendered) == {1, 2, 3}
    (seg,) = [s for s in mirrored.mirror.render_line(2) if s.text.strip()]
    assert seg.style is not None and seg.style.color is not None
    assert seg.style.color.number == 1


async def test_a_shorter_screen_blanks_the_rows_it_lost(mirrored: Mirrored) -> None:
    await mirrored.show(SCREEN)
    mirrored.mirror.rendered.clear()
    await mirrored.show(SCREEN[:2])
    assert set(mirrored.mirror.rendered) == set(range(2, HEIGHT))
    assert mirrored.mirror.render_line(3).text == " " * WIDTH


async def test_a_resize_redraws_every_row_at_the_new_width(mirrored: Mirrored) -> None:
    await mirrored.show(["x" * 50] * HEIGHT)
    mirrored.mirror.styles.width = 40
    await mirrored.settle()
    assert mirrored.mirror.render_line(0).cell_length == 40
    assert mirrored.mirror.render_line(0).text == "x" * 40


async def test_screens_for_other_agents_do_not_reach_this_mirror(mirrored: Mirrored) -> None:
    await mirrored.show(SCREEN)
    mirrored.mirror.rendered.clear()
    await mirrored.show(["other"] * HEIGHT, "r2")
    assert not mirrored.mirror.rendered
    assert mirrored.mirror.lines == tuple(SCREEN)


async def test_a_screen_before_layout_shows_once_laid_out() -> None:
    mirror = PaneMirror("r1")
    mirror.update_screen(["early"])  # not mounted: nothing to repaint yet
    assert mirror.lines == ("early",)

    class Early(App[None]):
        def compose(self) -> ComposeResult:
            yield mirror

    async with Early().run_test(size=(WIDTH, HEIGHT)) as pilot:
        await pilot.pause()
        assert mirror.render_line(0).text.startswith("early")
