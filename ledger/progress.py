"""The org's progress curve: the best metric a decided verdict backs, over time and compute.

"Given a task, how quickly does your research org generate progress on it?" Each
decided experiment backs one value: the mean metric of the arm its verdict
endorses (the best treatment that came out superior or non-inferior; otherwise
the baseline, which stays). The curve is the running best of those values, by
the time each verdict was reached (its last counted run's end), against hours
since the org started and against the device-hours every run had spent by then.
Each step is labelled with its experiment and with the commit of `org/` (the
org's prompts and processes) in force at the time, so two versions of the org
can be compared on the same question.

Drawn two ways: `chart()` as lines of text (the terminal and the app), and
`save_picture()` as a PNG/SVG/PDF through matplotlib, imported only there (it
costs 1.4-2.9 s to import on the 2-core development machine).
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from missionctl import proc
from missionctl.errors import UserError
from missionctl.ledger.facts import RunFacts
from missionctl.ledger.spec import BASELINE
from missionctl.ledger.verdict import DECIDED, POSITIVE, Verdict
from missionctl.units import duration

if TYPE_CHECKING:
    from missionctl.ledger.ledger import Ledger

AXES = ("hours", "compute")
LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class ProgressPoint(msgspec.Struct, kw_only=True, frozen=True):
    """One decided experiment on the curve."""

    label: str  # A, B, ... in the order they were decided
    experiment: str
    decision: str
    arm: str  # the arm whose mean the verdict backs
    value: float  # that arm's mean metric over the runs the verdict counted
    at: float  # Unix time it was decided: its last counted run's end
    hours: float  # since the org started
    compute_hours: float  # device-hours every run of the workspace had spent by then
    org_commit: str | None  # the commit of org/ in force then
    best: bool  # whether it set a new best: a step of the curve

    def x(self, axis: str) -> float:
        return self.hours if axis == "hours" else self.compute_hours


class Progress(msgspec.Struct, kw_only=True, frozen=True):
    """The curve of one metric across the org's decided experiments."""

    metric: str
    goal: str
    started: float  # the org's first experiment or run
    compute_unit: str  # "CPU-hours", "GPU-hours" or "device-hours"
    compute_hours: float  # spent by every run so far
    points: list[ProgressPoint]

    @property
    def steps(self) -> list[ProgressPoint]:
        """The points where the best value moved."""
        return [p for p in self.points if p.best]

    def axis_title(self, axis: str) -> str:
        return "hours since the org started" if axis == "hours" else self.compute_unit


def progress(ledger: Ledger, metric: str = "val_bpb", now: float | None = None) -> Progress:
    """The org's progress on `metric`, from every decided experiment that measures it."""
    import time

    now = time.time() if now is None else now
    experiments = [e for e in ledger.experiments() if e.spec.metric == metric]
    goals = {e.spec.goal for e in experiments}
    if len(goals) > 1:
        raise UserError(
            f"experiments disagree on whether {metric} should go up or down; give each metric"
            " one goal"
        )
    goal = goals.pop() if goals else "lower"
    runs = all_runs(ledger)
    starts = [e.created for e in experiments] + [
        t for r in runs for t in (r.created, r.started) if t is not None
    ]
    started = min(starts, default=now)
    decided: list[tuple[float, str, str, str, float]] = []
    verdicts = {e.id: ledger.verdict(e.id) for e in experiments}
    for experiment in experiments:
        verdict = verdicts[experiment.id]
        if verdict.decision not in DECIDED:
            continue
        backed = backed_value(verdict, goal)
        if backed is None:
            continue
        arm, value = backed
        used = ledger.run_facts(verdict.used_runs)
        ends = [r.ended for r in used.values() if r.ended is not None]
        at = max(ends, default=experiment.created)
        decided.append((at, experiment.id, verdict.decision, arm, value))
    decided.sort()
    commits = org_commits(ledger.root) if decided else []
    points: list[ProgressPoint] = []
    best: float | None = None
    for i, (at, exp_id, decision, arm, value) in enumerate(decided):
        better = best is None or (value < best if goal == "lower" else value > best)
        if better:
            best = value
        points.append(
            ProgressPoint(
                label=LABELS[i % len(LABELS)] + ("" if i < len(LABELS) else str(i // 26)),
                experiment=exp_id,
                decision=decision,
                arm=arm,
                value=value,
                at=at,
                hours=(at - started) / 3600,
                compute_hours=compute_hours(runs, at),
                org_commit=org_commit(commits, at),
                best=better,
            )
        )
    return Progress(
        metric=metric,
        goal=goal,
        started=started,
        compute_unit=compute_unit(runs),
        compute_hours=compute_hours(runs, now),
        points=points,
    )


def backed_value(verdict: Verdict, goal: str) -> tuple[str, float] | None:
    """(arm, mean metric) that a decided verdict backs: its best positive treatment, or the
    baseline when no treatment came out positive."""
    means: dict[str, float] = {}
    arms = {p.arm for p in verdict.pairs}
    for arm in arms:
        values = [p.value for p in verdict.pairs if p.arm == arm and p.value is not None]
        if values:
            means[arm] = statistics.fmean(values)
    base = {p.seed: p.baseline_value for p in verdict.pairs if p.baseline_value is not None}
    if base:
        means[BASELINE] = statistics.fmean(base.values())
    positive = [a for a, v in verdict.arms.items() if v.decision in POSITIVE and a in means]
    if verdict.decision in POSITIVE and positive:
        pick = min if goal == "lower" else max
        arm = pick(positive, key=lambda a: means[a])
        return arm, means[arm]
    if BASELINE in means:
        return BASELINE, means[BASELINE]
    return None


def all_runs(ledger: Ledger) -> list[RunFacts]:
    """Every run of the workspace, attached or not, with its facts."""
    try:
        ids = [
            e.name
            for e in os.scandir(ledger.runs_dir)
            if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
        ]
    except FileNotFoundError:
        return []
    found = ledger.run_facts(sorted(ids))
    return [f for f in found.values() if f.status != "missing"]


def compute_hours(runs: Sequence[RunFacts], until: float) -> float:
    """Device-hours the runs had spent by `until`: each run from its start to its end (or
    to `until`, while it runs), one device each."""
    total = 0.0
    for run in runs:
        if run.started is None:
            continue
        end = run.ended if run.ended is not None else until
        if run.ended is None and not run.live:
            # Died without an end event: count what its wall time says, if anything.
            end = run.started + (run.wall_time or 0.0)
        total += max(0.0, min(end, until) - run.started)
    return total / 3600


def compute_unit(runs: Sequence[RunFacts]) -> str:
    """What the runs' compute is counted in: CPU-hours, GPU-hours, or device-hours for both."""
    devices = {"GPU" if (r.device or "").startswith("cuda") else "CPU" for r in runs if r.started}
    return f"{devices.pop()}-hours" if len(devices) == 1 else "device-hours"


def org_commits(root: Path) -> list[tuple[float, str]]:
    """Every commit that touched `org/` on the checked-out branch: (commit time, short
    hash), oldest first. One git call, however many verdicts are placed on the curve."""
    result = proc.run(
        ["git", "-C", str(root), "log", "--format=%ct %h", "--", "org"],
        timeout=10, check=False,
    )  # fmt: skip
    found = []
    for line in result.stdout.splitlines():
        when, _, commit = line.partition(" ")
        if when.isdigit() and commit:
            found.append((float(when), commit))
    return found[::-1]  # git lists newest first; within one second, its order stands


def org_commit(commits: Sequence[tuple[float, str]], at: float) -> str | None:
    """The commit of `org/` in force at `at`: the last one made at or before it."""
    before = [commit for when, commit in commits if when <= at]
    return before[-1] if before else None


# -- drawing ----------------------------------------------------------------------------------


def _fmt_x(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def chart(data: Progress, axis: str = "hours", width: int = 64, height: int = 12) -> list[str]:
    """The curve as lines of text: a step line of the best value, every decided
    experiment marked with its label, and a legend.

    Hand-drawn: a step line over a handful of points needs a character grid and
    nothing more, and the same lines serve the terminal and the app.
    """
    if axis not in AXES:
        raise ValueError(f"axis must be one of {AXES}")
    title = f"best {data.metric} backed by a decided verdict ({data.goal} is better)"
    if not data.points:
        return [title, "", "  no decided experiment yet: the curve starts at the first verdict"]
    ys = [p.value for p in data.points]
    low, high = min(ys), max(ys)
    if math.isclose(low, high):
        low, high = low - 0.005 * max(abs(low), 1), high + 0.005 * max(abs(high), 1)
    x_max = max(p.x(axis) for p in data.points) * 1.08 or 1.0
    label_w = max(len(f"{v:.4f}") for v in (low, high)) + 1
    plot_w = max(10, width - label_w - 1)
    rows = max(4, height)
    grid = [[" "] * plot_w for _ in range(rows)]

    def col(x: float) -> int:
        return min(plot_w - 1, max(0, round(x / x_max * (plot_w - 1))))

    def row(y: float) -> int:
        return min(rows - 1, max(0, round((high - y) / (high - low) * (rows - 1))))

    steps = data.steps
    for i, step in enumerate(steps):
        start = col(step.x(axis))
        stop = col(steps[i + 1].x(axis)) if i + 1 < len(steps) else plot_w - 1
        r = row(step.value)
        for c in range(start, stop + 1):
            grid[r][c] = "─"
        if i + 1 < len(steps):
            nxt = row(steps[i + 1].value)
            for rr in range(min(r, nxt), max(r, nxt) + 1):
                grid[rr][stop] = "│"
            grid[r][stop] = "┐" if nxt > r else ("┘" if nxt < r else "─")
    for point in data.points:
        grid[row(point.value)][col(point.x(axis))] = point.label[0]
    lines = [title]
    for r, cells in enumerate(grid):
        value = high - (high - low) * r / (rows - 1)
        tick = f"{value:.4f}" if r in (0, rows // 2, rows - 1) else ""
        lines.append(f"{tick:>{label_w}}┤{''.join(cells)}")
    lines.append(" " * label_w + "└" + "─" * plot_w)
    right = _fmt_x(x_max)
    lines.append(" " * (label_w + 1) + "0" + right.rjust(plot_w - 1))
    lines.append(" " * (label_w + 1) + data.axis_title(axis).center(plot_w))
    lines.append("")
    lines += legend(data)
    return lines


def legend(data: Progress) -> list[str]:
    """One line per decided experiment: label, value, experiment, decision, when, org commit."""
    out = []
    for p in data.points:
        mark = "*" if p.best else " "
        out.append(
            f"{mark}{p.label} {p.value:.4f}  {p.experiment}: {p.decision} ({p.arm})"
            f"  at {duration(p.hours * 3600)}, {p.compute_hours:.3g} {data.compute_unit}"
            f"  org@{p.org_commit or 'uncommitted'}"
        )
    if out:
        out.append("* a step: the best value moved")
    return out


def save_picture(data: Progress, path: Path) -> Path:
    """Draw the curve against hours and against compute into `path` (PNG, SVG or PDF, by
    its suffix), written whole or not at all."""
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg", ".pdf"):
        raise UserError(f"{path}: the picture must be a .png, .svg or .pdf file")
    if not path.parent.is_dir():
        raise UserError(f"{path.parent} is not a folder; make it first")
    import matplotlib

    matplotlib.use("Agg")  # no display: draw to a file only
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.4), dpi=120, layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, axis in zip(axes, AXES, strict=True):
        steps = data.steps
        if steps:
            xs = [p.x(axis) for p in steps]
            ys = [p.value for p in steps]
            right = max(p.x(axis) for p in data.points) * 1.08 or 1.0
            ax.step([*xs, right], [*ys, ys[-1]], where="post", color="tab:blue", linewidth=2)
        for p in data.points:
            ax.plot(p.x(axis), p.value, "o", color="tab:blue" if p.best else "tab:gray")
            ax.annotate(
                f"{p.label} {p.experiment}\norg@{p.org_commit or '-'}",
                (p.x(axis), p.value),
                textcoords="offset points",
                xytext=(4, 6),
                fontsize=7,
            )
        ax.set_xlim(left=0)  # from the org's start, and from no compute spent
        ax.set_xlabel(data.axis_title(axis))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"{data.metric} ({data.goal} is better)")
    fig.suptitle(f"Best {data.metric} backed by a decided verdict")
    partial = path.with_name(f".{path.stem}.partial{suffix}")
    try:
        fig.savefig(partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path
