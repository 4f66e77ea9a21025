"""Grid geometry: how many columns and rows of agent cells fit a terminal. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass

# A cell is its header, the agent's terminal and its metrics strip.
CHROME_ROWS = 2
MIN_CELL = (24, CHROME_ROWS + 4)  # columns, rows: smaller cells show nothing useful
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
        return width // self.columns, height // self.rows


def grid_shape(count: int, width: int, height: int) -> Shape:
    """The grid for `count` cells in the area: cells near TARGET_ASPECT, few empty slots."""
    best: tuple[float, Shape] | None = None
    for columns in range(1, max(count, 1) + 1):
        rows = math.ceil(count / columns)
        cell_w, cell_h = width / columns, height / rows
        if cell_h <= 0 or cell_w <= 0:
            continue
        empty = columns * rows - count
        score = abs(math.log((cell_w / cell_h) / TARGET_ASPECT)) + 0.25 * empty
        if cell_w < MIN_CELL[0] or cell_h < MIN_CELL[1]:
            score += 100  # only if nothing fits
        if best is None or score < best[0]:
            best = (score, Shape(columns, rows))
    return best[1] if best else Shape(1, 1)


def fits(count: int, width: int, height: int, focus: bool = False) -> bool:
    """Whether `count` cells can be shown readably in the area."""
    if count == 0:
        return True
    if focus:
        # One big cell; the others shrink to slivers (a header at least).
        side = count - 1
        big_w = int(width * FOCUS_SHARE)
        if big_w < MIN_CELL[0] or height < MIN_CELL[1]:
            return False
        return side == 0 or (width - big_w >= MIN_SIDE_WIDTH and height // side >= 1)
    shape = grid_shape(count, width, height)
    cell_w, cell_h = shape.cell(width, height)
    return cell_w >= MIN_CELL[0] and cell_h >= MIN_CELL[1]


def mirror_size(cell_width: int, cell_height: int) -> tuple[int, int]:
    """The agent terminal's size inside a cell of that size."""
    return max(cell_width, 1), max(cell_height - CHROME_ROWS, 1)
