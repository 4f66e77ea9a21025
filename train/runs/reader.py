"""Reading runs back: what ran, how it ended, and how a live run is doing.

Torch-free: the app imports this to fill each agent's metrics strip, and the
scripted agents to read their results. A run's status:

- `queued`: its directory is reserved and its process is waiting for a run slot;
- `running`: it has started and its process is alive;
- `ok`, `nan`, `timeout`, `crash`: its `end` event says so;
- `unknown`: its process is gone without writing `end` (killed with SIGKILL,
  out of memory, machine rebooted).

A run on Slurm is `queued` while its job waits and `running` once it trains; its
`job.json` (see `jobfile`) adds the job id, node and Slurm's state.
"""

from __future__ import annotations

import math
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from missionctl.errors import UserError
from missionctl.files import NotAPlainFile, open_regular
from missionctl.train.runs import metrics
from missionctl.train.runs.jobfile import JobSeen, read_job
from missionctl.train.runs.record import (
    CONFIG_FILE,
    METRICS_FILE,
    check_run_id,
    is_live,
    read_config_file,
    runs_root,
)
from missionctl.workspace import Workspace

RUN_STATUSES = ("queued", "running", "ok", "nan", "timeout", "crash", "unknown")
# Enough of a file's end to hold its `end` line (the longest error is cut to fit).
_TAIL_BYTES = 8192
# The longest line a reader keeps whole: a `start` line is a few KB; longer is damage.
_MAX_LINE_BYTES = 1 << 20
# What one poll of a live run reads at most: the app catches up on a long run in
# steps instead of holding the whole file (or an endless one) in memory at once.
_POLL_BYTES = 4 << 20


@dataclass(frozen=True)
class RunInfo:
    """One run as its directory records it."""

    run_id: str
    path: Path
    status: str
    agent: str | None = None
    preset: str | None = None
    created: float | None = None
    started: float | None = None
    ended: float | None = None
    budget: str | None = None
    init_seed: int | None = None
    data_seed: int | None = None
    config: dict[str, Any] = field(default_factory=dict)
    config_hash: str | None = None
    steps: int = 0
    final_val_bpb: float | None = None
    best_val_bpb: float | None = None
    error: str | None = None
    # A run on Slurm: its job, the node it ran on, and the job's state when last seen.
    job_id: str | None = None
    node: str | None = None
    job_state: str | None = None

    @property
    def seed(self) -> int | None:
        """The init seed (the one `--seed` sets; the data seed follows it by default)."""
        return self.init_seed

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE


def _budget_text(budget: Any) -> str | None:
    if isinstance(budget, dict) and "kind" in budget and "amount" in budget:
        return f"{budget['kind']}={budget['amount']:g}"
    return None


def _head_and_tail(path: Path) -> tuple[list[metrics.Event], list[metrics.Event], bool]:
    """(events of the first line, of the last lines, whether the middle was skipped).

    Raises `NotAPlainFile` when `path` is not a regular file.
    """
    try:
        f = open_regular(path)
    except FileNotFoundError:
        return [], [], False
    with f:
        size = os.fstat(f.fileno()).st_size
        if size <= 4 * _TAIL_BYTES:
            whole = f.read(4 * _TAIL_BYTES).decode("utf-8", "replace")
            body, _, _ = whole.rpartition("\n")
            return [], metrics.parse_lines(body.split("\n")), False
        first = f.readline(_MAX_LINE_BYTES)
        f.seek(size - _TAIL_BYTES)
        tail = f.read(_TAIL_BYTES).decode("utf-8", "replace")
    # The tail's first line is cut at an arbitrary byte, its last may be half-written.
    lines = tail.split("\n")[1:-1]
    head = first.decode("utf-8", "replace")
    return (
        metrics.parse_lines([head] if head.endswith("\n") else []),
        metrics.parse_lines(lines),
        True,
    )


@dataclass(frozen=True)
class RunEvents:
    """A run's record and the events that say what it was and how it ended.

    What the ledger judges a run by: the whole `start` event (code, config, seeds,
    budget, environment, data and evaluation hashes) and the whole `end` event.
    `problem` says why the metrics file was not (wholly) read, if it was not.
    """

    path: Path
    status: str
    record: dict[str, Any]
    start: metrics.StartEvent | None
    end: metrics.EndEvent | None
    evals: tuple[metrics.EvalEvent, ...]
    last_step: int
    problem: str | None = None


def read_run_events(path: Path) -> RunEvents:
    """The run recorded in directory `path`: its `config.json`, status and key events."""
    record = read_config_file(path)
    problem: str | None = None
    try:
        head, tail, skipped = _head_and_tail(path / METRICS_FILE)
    except (NotAPlainFile, OSError) as exc:
        head, tail, skipped = [], [], False
        problem = f"{METRICS_FILE} is {_reason(exc)}; it was not read"
    if skipped and not any(isinstance(e, metrics.EndEvent) for e in tail):
        # A long live (or dead) run: the best val_bpb needs every eval.
        try:
            head, tail = [], metrics.read_events(path / METRICS_FILE)
        except (NotAPlainFile, OSError) as exc:
            problem = f"{METRICS_FILE} is {_reason(exc)}; only its first and last lines were read"
    events = head + tail
    start = next((e for e in events if isinstance(e, metrics.StartEvent)), None)
    end = next((e for e in reversed(events) if isinstance(e, metrics.EndEvent)), None)
    evals = tuple(e for e in events if isinstance(e, metrics.EvalEvent))
    steps = [e.step for e in events if isinstance(e, metrics.StepEvent)]
    status: str = end.status if end is not None else "unknown"
    if end is None and is_live(path):
        status = "running" if start is not None else "queued"
    return RunEvents(path, status, record, start, end, evals, max(steps, default=0), problem)


def load_run_dir(path: Path) -> RunInfo:
    """The run recorded in directory `path`."""
    run = read_run_events(path)
    record, start, end, evals = run.record, run.start, run.end, run.evals
    best = min((e.val_bpb for e in evals), default=None)
    job = read_job(path)
    return RunInfo(
        run_id=path.name,
        path=path,
        status=run.status,
        agent=start.agent if start else record.get("agent"),
        preset=start.preset if start else record.get("preset"),
        created=record.get("created"),
        started=start.t if start else None,
        ended=end.t if end else None,
        budget=_budget_text(start.budget if start else record.get("budget")),
        init_seed=start.init_seed if start else record.get("init_seed"),
        data_seed=start.data_seed if start else record.get("data_seed"),
        config=start.config if start else record.get("config", {}),
        config_hash=start.config_hash if start else record.get("config_hash"),
        steps=end.steps if end and end.steps is not None else run.last_step,
        final_val_bpb=end.final_val_bpb if end else (evals[-1].val_bpb if evals else None),
        best_val_bpb=end.best_val_bpb if end else best,
        error=end.error if end else run.problem,
        job_id=job.job_id if job else (start.slurm_job_id if start else None),
        node=(start.slurm_node if start else None) or (job.node if job else None),
        job_state=job.state_text() if job else None,
    )


def _reason(exc: OSError | NotAPlainFile) -> str:
    if isinstance(exc, NotAPlainFile):
        return exc.reason
    return f"unreadable ({exc.strerror or exc})"


def list_runs_in(root: Path) -> list[RunInfo]:
    """Every run under `root`, oldest first."""
    if not root.is_dir():
        return []
    runs = [
        load_run_dir(p)
        for p in root.iterdir()
        # Real folders only: a link could lead the listing anywhere on the machine.
        if p.is_dir()
        and not p.is_symlink()
        and not p.name.startswith(".")
        and (p / CONFIG_FILE).exists()
    ]
    return sorted(runs, key=lambda r: (r.created or r.started or 0.0, r.run_id))


def list_runs(ws: Workspace) -> list[RunInfo]:
    """Every run of the workspace, oldest first."""
    return list_runs_in(runs_root(ws))


def latest_run(ws: Workspace, agent: str) -> RunInfo | None:
    """The most recently created run of `agent`, or None if it has none."""
    mine = [r for r in list_runs(ws) if r.agent == agent]
    return mine[-1] if mine else None


def load_run(ws: Workspace, run_id: str) -> RunInfo:
    """The workspace's run called `run_id`; a `UserError` when there is none."""
    return load_run_in(runs_root(ws), run_id)


def load_run_in(root: Path, run_id: str) -> RunInfo:
    """The run called `run_id` under `root`; a `UserError` when there is none."""
    path = root / check_run_id(run_id)
    if not (path / CONFIG_FILE).exists():
        raise UserError(f"no run {run_id!r} in {root}; `missionctl runs` lists the runs there")
    return load_run_dir(path)


@dataclass(frozen=True)
class RunProgress:
    """A live run at a glance: what the app's metrics strip shows."""

    run_id: str | None
    status: str
    step: int = 0
    total_steps: int | None = None
    fraction: float = 0.0
    eta_s: float | None = None
    losses: tuple[float, ...] = ()
    last_val_bpb: float | None = None
    best_val_bpb: float | None = None
    tok_s: float | None = None
    mfu: float | None = None
    budget: str | None = None
    as_of: float | None = None
    job: JobSeen | None = None  # a run on Slurm: its job as last seen


# (agent, created, (experiment, arm) or None): what a run's config.json says of who
# started it, when, and for which experiment and arm.
RunOwner = tuple[str, float, tuple[str, str] | None]


def run_owner(run_dir: Path) -> RunOwner | None:
    """Who started the run, when, and for which experiment and arm; None until written."""
    data = read_config_file(run_dir)  # never a plain open: an agent can leave a FIFO there
    agent, created = data.get("agent"), data.get("created")
    if not isinstance(agent, str) or not isinstance(created, (int, float)):
        return None
    experiment = data.get("experiment")
    purpose = None
    if isinstance(experiment, dict):
        exp_id, arm = experiment.get("id"), experiment.get("arm")
        if isinstance(exp_id, str) and isinstance(arm, str):
            purpose = (exp_id, arm)
    return agent, float(created), purpose


class NewestRuns:
    """Each agent's newest run under `root`, by the creation time its config records.
    Each run's config is read once (`owners`); a poll is one directory scan."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.owners: dict[str, RunOwner] = {}  # run id -> its owner

    def poll(self) -> dict[str, Path]:
        newest: dict[str, tuple[float, Path]] = {}
        try:
            entries = [e for e in os.scandir(self.root) if e.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return {}
        for entry in entries:
            if entry.name.startswith("."):
                continue
            owner = self.owners.get(entry.name)
            if owner is None:
                owner = run_owner(Path(entry.path))
                if owner is None:
                    continue  # being created: read it on a later poll
                self.owners[entry.name] = owner
            agent, created, _ = owner
            if agent not in newest or created > newest[agent][0]:
                newest[agent] = (created, Path(entry.path))
        return {agent: path for agent, (_, path) in newest.items()}


class MetricsTail:
    """Follows a run's `metrics.jsonl`, reading only the bytes added since the last poll."""

    def __init__(self, path: Path, history: int = 64) -> None:
        """Follow the metrics file at `path` (it may not exist yet); keep `history` losses."""
        self.path = path
        self.history = history
        self._reset()

    def _reset(self) -> None:
        self.problem: str | None = None
        self._offset = 0
        self._partial = b""
        self._inode: int | None = None
        self._start: metrics.StartEvent | None = None
        self._last_step: metrics.StepEvent | None = None
        self._end: metrics.EndEvent | None = None
        self._losses: deque[float] = deque(maxlen=self.history)
        self._last_val: float | None = None
        self._best_val: float | None = None
        self._last_t: float | None = None

    @property
    def offset(self) -> int:
        """Bytes of the file read so far: each poll reads only what lies past it."""
        return self._offset

    def _read_new(self) -> bytes:
        try:
            f = open_regular(self.path)
        except FileNotFoundError:
            return b""
        except (NotAPlainFile, OSError) as exc:
            self.problem = f"{METRICS_FILE} is {_reason(exc)}; it is not read"
            return b""
        with f:
            st = os.fstat(f.fileno())
            if st.st_ino != self._inode or st.st_size < self._offset:
                # A new file under the same name, or truncated: start again.
                self._reset()
                self._inode = st.st_ino
            f.seek(self._offset)
            data = f.read(_POLL_BYTES)
        self._offset += len(data)
        return data

    def _take(self, event: metrics.Event) -> None:
        self._last_t = event.t
        if isinstance(event, metrics.StartEvent):
            self._start = event
        elif isinstance(event, metrics.StepEvent):
            self._last_step = event
            if event.loss is not None:
                self._losses.append(event.loss)
        elif isinstance(event, metrics.EvalEvent):
            self._last_val = event.val_bpb
            self._best_val = (
                event.val_bpb if self._best_val is None else min(self._best_val, event.val_bpb)
            )
        else:
            self._end = event
            if self._last_val is None and event.final_val_bpb is not None:
                # A run of any command reports its metric only at its end.
                self._last_val = self._best_val = event.final_val_bpb

    def poll(self) -> RunProgress:
        """The run's progress including every complete line written so far."""
        data = self._partial + self._read_new()
        complete, _, self._partial = data.rpartition(b"\n")
        if len(self._partial) > _MAX_LINE_BYTES:
            self._partial = b""  # no event is this long: damage, not a line still being written
        if complete:
            for event in metrics.parse_lines(complete.decode("utf-8", "replace").split("\n")):
                self._take(event)
        return self._progress()

    def _status(self) -> str:
        if self._end is not None:
            return self._end.status
        live = is_live(self.path.parent)
        if self._start is None:
            return "queued" if live else "unknown"
        return "running" if live else "unknown"

    def _progress(self) -> RunProgress:
        start, step = self._start, self._last_step
        status = self._status()
        eta = None
        if start is not None and step is not None and step.progress > 0 and self._end is None:
            elapsed = step.t - start.t
            eta = elapsed * (1 - step.progress) / step.progress
        if self._end is not None:
            eta = 0.0
        job = read_job(self.path.parent) if self._end is None else None
        return RunProgress(
            run_id=start.run_id if start else (self.path.parent.name if job else None),
            status=status,
            step=step.step if step else 0,
            total_steps=start.total_steps if start else None,
            fraction=step.progress if step else 0.0,
            eta_s=eta if eta is None or math.isfinite(eta) else None,
            losses=tuple(self._losses),
            last_val_bpb=self._last_val,
            best_val_bpb=self._best_val,
            tok_s=step.tok_s if step else None,
            mfu=step.mfu if step else None,
            budget=_budget_text(start.budget) if start else None,
            as_of=self._last_t,
            job=job,
        )
