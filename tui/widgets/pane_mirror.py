"""The pane mirror: an agent's terminal screen, shown 1:1 in its cell.

A Line API widget: `render_line(y)` hands Textual a ready `Strip` per row. Rows are
decoded through a per-line cache keyed on (incoming style, raw row, width), since a
`capture-pane -e` row's escapes are relative to the style the row above ended in,
and a new screen repaints only the rows whose strip changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.segment import Segment
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from missionctl.tui.ansi import PLAIN, Sgr, segments


class StripCache:
    """Decoded rows: (incoming style, raw row, width) -> (strip, outgoing style), in
    Textual's own LRU cache (which counts hits and misses for the benchmark)."""

    def __init__(self, maxsize: int = 2048) -> None:
        self._entries: LRUCache[tuple[Sgr, str, int], tuple[Strip, Sgr]] = LRUCache(maxsize)

    @property
    def hits(self) -> int:
        return self._entries.hits

    @property
    def misses(self) -> int:
        return self._entries.misses

    @property
    def maxsize(self) -> int:
        return self._entries.maxsize

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, incoming: Sgr, raw: str, width: int) -> tuple[Strip, Sgr]:
        """The row as a strip exactly `width` cells wide, and the style it ends in."""
        key = (incoming, raw, width)
        entry = self._entries.get(key)
        if entry is None:
            parts, outgoing = segments(raw, incoming)
            entry = (_fit(parts, width), outgoing)
            self._entries.set(key, entry)
        return entry


def _fit(parts: list[Segment], width: int) -> Strip:
    """`parts` as one strip exactly `width` cells wide.

    A row is usually no wider than the window the app sized to fit: pad it in place
    rather than let `Strip.adjust_cell_length` build a second strip (seven caches each).
    """
    length = sum(cell_len(part.text) for part in parts)
    if length > width:
        return Strip(parts, length).adjust_cell_length(width)
    if length < width:
        parts.append(Segment(" " * (width - length)))
    return Strip(parts, width)


class PaneMirror(Widget):
    """One agent's pane, mirrored row for row from `capture-pane -p -e` lines.

    Feed it with `update_screen(lines)`; rows wider than the widget are cut, rows
    past its height are not shown (the app sizes the window to the cell).
    """

    def __init__(
        self,
        agent: str | None = None,
        *,
        cache_size: int = 2048,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.agent = agent
        self.cache = StripCache(cache_size)
        self._lines: tuple[str, ...] = ()
        self._rows: list[Strip] = []
        self._built_for = Size(0, 0)
        self._blank = Strip.blank(0)

    @property
    def lines(self) -> tuple[str, ...]:
        """The raw rows last shown."""
        return self._lines

    def update_screen(self, lines: Sequence[str]) -> None:
        """Show a new screen; only rows that differ from the current one repaint."""
        self._lines = tuple(lines)
        size = self.size
        if size != self._built_for or not size.area:
            # Not laid out yet, or resized since: render_line rebuilds everything.
            self.refresh()
            return
        before = self._rows
        self._build(size)
        after = self._rows
        regions: list[Region] = []
        start: int | None = None
        for y in range(max(len(before), len(after)) + 1):
            old = before[y] if y < len(before) else None
            new = after[y] if y < len(after) else None
            # The cache hands back the same Strip object for an unchanged row.
            changed = old is not new and y < size.height
            if changed and start is None:
                start = y
            elif not changed and start is not None:
                regions.append(Region(0, start, size.width, y - start))
                start = None
        if regions:
            self.refresh(*regions)

    def _build(self, size: Size) -> None:
        width, height = size
        rows: list[Strip] = []
        incoming = PLAIN
        get = self.cache.get
        for raw in self._lines[:height]:
            strip, incoming = get(incoming, raw, width)
            rows.append(strip)
        self._rows = rows
        self._built_for = size
        if self._blank.cell_length != width:
            self._blank = Strip.blank(width)

    def render_line(self, y: int) -> Strip:
        """The strip for content row `y`."""
        size = self.size
        if size != self._built_for:
            self._build(size)
        if y < len(self._rows):
            return self._rows[y]
        return self._blank
