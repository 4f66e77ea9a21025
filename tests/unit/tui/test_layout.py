"""Grid geometry and the metrics strip's words: pure functions."""

from __future__ import annotations

import pytest

from missionctl.train.runs.jobfile import JobSeen
from missionctl.train.runs.reader import RunProgress
from missionctl.tui import layout
from missionctl.tui.widgets.metrics_strip import run_text, sparkline


@pytest.mark.parametrize(
    ("count", "width", "height", "shape"),
    [
        (8, 200, 54, (4, 2)),  # the design's 4x2 for eight on a wide terminal
        (8, 160, 40, (4, 2)),
        (8, 100, 80, (2, 4)),  # tall and narrow: two columns
        (4, 200, 54, (2, 2)),
        (3, 200, 54, (3, 1)),
        (1, 200, 54, (1, 1)),
        (2, 80, 40, (1, 2)),
    ],
)
def test_grid_shape(count: int, width: int, height: int, shape: tuple[int, int]) -> None:
    got = layout.grid_shape(count, width, height)
    assert (got.columns, got.rows) == shape
    assert got.columns * got.rows >= count


def test_what_fits() -> None:
    assert layout.fits(8, 200, 54)
    # Too small for eight readable cells: pages of one; too small for one: nothing.
    assert layout.fits(8, 60, 14) and not layout.fits(8, 30, 14)
    assert not layout.fits(8, 100, 10)
    # The focus layout needs only one big cell plus thin slivers.
    assert not layout.fits(8, 70, 10) and layout.fits(8, 70, 10, focus=True)
    assert not layout.fits(8, 30, 12, focus=True)
    assert layout.mirror_size(50, 27) == (50, 25)


@pytest.mark.parametrize(
    ("count", "width", "height", "pages", "size", "shape"),
    [
        (8, 200, 50, 1, 8, (4, 2)),  # eight fit readably: one page, as ever
        (16, 200, 50, 1, 16, (4, 4)),  # 200x56 less the feed and footer: 49x12 cells
        (32, 200, 50, 2, 16, (4, 4)),  # 32 would be 24 columns wide: two pages of 16
        (16, 120, 34, 2, 8, (3, 3)),  # 120x40: 39x11 cells, eight a page
        (32, 120, 34, 4, 8, (3, 3)),
        (32, 195, 43, 2, 16, (4, 4)),  # the benchmark's terminal
        (9, 120, 34, 1, 9, (3, 3)),
    ],
)
def test_pages_keep_cells_readable(
    count: int, width: int, height: int, pages: int, size: int, shape: tuple[int, int]
) -> None:
    plan = layout.paginate(count, width, height)
    assert plan is not None
    assert (plan.count, plan.size, (plan.shape.columns, plan.shape.rows)) == (pages, size, shape)
    rows = height - (layout.ROSTER_ROWS if pages > 1 else 0)
    cell_w, cell_h = plan.shape.cell(width, rows)
    assert cell_w >= layout.READABLE_CELL[0] and cell_h >= layout.READABLE_CELL[1]
    # Every agent is on exactly one page, the selected one's page among them.
    members = [i for page in range(plan.count) for i in plan.members(page, count)]
    assert members == list(range(count))
    assert all(i in plan.members(plan.page_of(i), count) for i in range(count))


def test_run_text_puts_the_most_useful_first() -> None:
    run = RunProgress(run_id="r1-20261124T070102-9f2a", status="running", step=120,
                      total_steps=400, fraction=0.3, eta_s=95, losses=(3.0, 2.5, 2.0),
                      last_val_bpb=2.41, tok_s=12345.0, mfu=None)  # fmt: skip
    text = run_text(run).plain
    assert text.startswith("run …9f2a 120/400 30% ETA 1m35s bpb 2.410")
    assert "12.3k tok/s" in text and "MFU" not in text
    done = RunProgress(run_id="x-1234", status="nan", step=7, total_steps=10, fraction=0.7)
    assert run_text(done).plain.startswith("run …1234 nan 7/10 70%")
    assert run_text(None).plain == "no run yet"


def test_run_text_says_where_a_slurm_job_is_until_it_trains() -> None:
    run_id = "r1-20261124T070102-9f2a"
    pending = JobSeen(job_id="42", state="PENDING", reason="Priority")
    assert run_text(RunProgress(run_id=run_id, status="queued", job=pending)).plain == (
        "run …9f2a job 42 pending (Priority) "
    )
    started = JobSeen(job_id="42", state="RUNNING", node="gpu7")
    waiting = RunProgress(run_id=run_id, status="running", job=started)
    assert run_text(waiting).plain == "run …9f2a job 42 running on gpu7 "
    training = RunProgress(run_id=run_id, status="running", step=120, total_steps=400,
                           fraction=0.3, eta_s=95, tok_s=12345.0, job=started)  # fmt: skip
    assert run_text(training).plain.startswith("run …9f2a job 42 on gpu7 120/400 30% ETA 1m35s")
    paused = RunProgress(run_id=run_id, status="running", step=120, total_steps=400,
                         fraction=0.3, job=JobSeen(job_id="42", state="RUNNING", paused=True))  # fmt: skip
    assert run_text(paused).plain.startswith("run …9f2a job 42 suspended (paused) 120/400 30%")


def test_the_loss_sparkline() -> None:
    assert sparkline([3.0, 2.0, 1.0]) == "█▄▁"
    assert sparkline([]) == "" and sparkline([1.0, 1.0]) == "▁▁"
