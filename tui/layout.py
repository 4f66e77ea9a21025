"""Grid geometry: how many columns and rows of agent cells fit a terminal, and pages. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass

# A cell is its header, the agent's terminal and its metrics strip.
CHROME_ROWS = 2
MIN_CELL = (24, CHROME_ROWS + 4)  # columns, rows: smaller cells show nothing useful
# The smallest cell worth reading (a 36x8 terminal): past what fits at this size the
# grid pages rather than shrink every agent to slivers.
READABLE_CELL = (36, CHROME_ROWS + 8)
GUTTER = 1  # columns between cells (app.tcss: grid-gutter)
ROSTER_ROWS = 1  # the overview line of every agent, shown when the grid has pages
# Cells look best near a 2:1 (columns:rows) shape; 4x2 for eight on a wide terminal.
TARGET_ASPECT = 2.0
FOCUS_SHARE = 0.7  # the focused cell's share of the width in the focus layout
MIN_SIDE_WIDTH = 16  # the small cells beside it in the focus layout


@dataclass(frozen=True)
class Shape:
    columns: int
    rows: int

    def cell(self, width: int, height: int) -> tuple[int, int]:
        """The (columns, rows) of one cell in a `width` x `height` area."""
        return (width - GUTTER * (self.columns - 1)) // self.columns, height // self.rows


def grid_shape(count: int, width: int, height: int, min_cell: tuple[int, int] = MIN_CELL) -> Shape:
    """The grid for `count` cells in the area: cells near TARGET_ASPECT, few empty slots,
    none smaller than `min_cell` if any shape avoids it."""
    best: tuple[float, Shape] | None = None
    for columns in range(1, max(count, 1) + 1):
        rows = math.ceil(count / columns)
        cell_w, cell_h = width / columns, height / rows
        if cell_h <= 0 or cell_w <= 0:
            continue
        empty = columns * rows - count
        score = abs(math.log((cell_w / cell_h) / TARGET_ASPECT)) + 0.25 * empty
        if cell_w < min_cell[0] or cell_h < min_cell[1]:
            score += 100  # only if nothing fits
        if best is None or score < best[0]:
            best = (score, Shape(columns, rows))
    return best[1] if best else Shape(1, 1)


@dataclass(frozen=True)
class Pages:
    """The agents split into pages of `size` cells, each laid out as `shape`."""

    size: int
    count: int
    shape: Shape

    def page_of(self, index: int) -> int:
        """The page that shows agent number `index` (0-based)."""
        return index // self.size if self.size else 0

    def members(self, page: int, total: int) -> range:
        """The agent indices on `page` of `total` agents."""
        return range(page * self.size, min((page + 1) * self.size, total))


def _readable(shape: Shape, width: int, height: int) -> bool:
    cell_w, cell_h = shape.cell(width, height)
    return cell_w >= READABLE_CELL[0] and cell_h >= READABLE_CELL[1]


def paginate(count: int, width: int, height: int) -> Pages | None:
    """Every agent on one page when all cells stay readable; else the fewest pages of
    equal size, one shape for all (cells keep their size when the page turns), with a
    roster line above them. None if not even one readable cell fits."""
    if count <= 0:
        return Pages(0, 1, Shape(1, 1))
    shape = grid_shape(count, width, height)
    if _readable(shape, width, height):
        return Pages(count, 1, shape)
    height -= ROSTER_ROWS
    columns = (width + GUTTER) // (READABLE_CELL[0] + GUTTER)
    rows = height // READABLE_CELL[1]
    if columns < 1 or rows < 1:
        return None
    pages = math.ceil(count / (columns * rows))
    size = math.ceil(count / pages)
    return Pages(size, pages, grid_shape(size, width, height, READABLE_CELL))


def fits_focus(count: int, width: int, height: int) -> bool:
    """Whether the focus layout fits: one big cell, the others as slivers beside it."""
    if count == 0:
        return True
    side = count - 1
    big_w = int(width * FOCUS_SHARE)
    if big_w < MIN_CELL[0] or height < MIN_CELL[1]:
        return False
    return side == 0 or (width - big_w >= MIN_SIDE_WIDTH and height // side >= 1)


def fits(count: int, width: int, height: int, focus: bool = False) -> bool:
    """Whether `count` cells can be shown readably in the area (on pages if need be)."""
    if focus:
        return fits_focus(count, width, height)
    return paginate(count, width, height) is not None


def mirror_size(cell_width: int, cell_height: int) -> tuple[int, int]:
    """The agent terminal's size inside a cell of that size."""
    return max(cell_width, 1), max(cell_height - CHROME_ROWS, 1)
