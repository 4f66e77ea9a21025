"""What the ledger knows about a run: the facts its directory records, read without torch.

A run is judged by its metadata alone: code (commit, diff hash), config, seeds,
budget planned and spent, environment (host, device, GPU type, dtype, torch,
threads, Slurm job and node), data and evaluation hashes, timing, and its final
metric. These are read from the run's `start` and `end` events through
`missionctl.train.runs.reader`, and cached in the ledger once the run has ended.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import msgspec

from missionctl.train.runs.reader import read_run_events
from missionctl.train.runs.record import CONFIG_FILE, METRICS_FILE, is_live

COMPLETE = ("ok", "nan")  # a run that diverged is an outcome, not a missing value
FINISHED = ("ok", "nan", "timeout", "crash")
BUDGET_AXES = ("steps", "tokens", "flops", "seconds")


class RunFacts(msgspec.Struct, kw_only=True, frozen=True):
    """One run as its directory records it."""

    run_id: str
    status: str  # ok | nan | timeout | crash | running | queued | unknown | missing
    runner: str = "train"  # or "command" (`missionctl run`)
    agent: str | None = None
    preset: str | None = None
    command: list[str] | None = None
    config: dict[str, Any] = {}
    config_hash: str | None = None
    init_seed: int | None = None
    data_seed: int | None = None
    budget: dict[str, Any] | None = None
    total_steps: int | None = None
    steps: int | None = None
    tokens: int | None = None
    flops: float | None = None
    train_time: float | None = None
    wall_time: float | None = None
    created: float | None = None
    started: float | None = None
    ended: float | None = None
    metrics: dict[str, float | None] = {}
    git_commit: str | None = None
    git_branch: str | None = None
    diff_hash: str | None = None
    host: str | None = None
    device: str | None = None
    device_name: str | None = None
    gpu_type: str | None = None
    cuda_visible_devices: str | None = None
    dtype: str | None = None
    compiled: bool | None = None
    threads: int | None = None
    torch_version: str | None = None
    slurm_job_id: str | None = None
    slurm_node: str | None = None
    data_hash: str | None = None
    eval_hash: str | None = None
    error: str | None = None

    def value(self, metric: str) -> float | None:
        """The run's final `metric`; None when it diverged or never reported it."""
        value = self.metrics.get(metric)
        if value is None or not math.isfinite(value):
            return None
        return value

    def spent(self, axis: str) -> float | None:
        """What the run used on a budget axis: steps, tokens, FLOPs or training seconds."""
        value = {
            "steps": self.steps,
            "tokens": self.tokens,
            "flops": self.flops,
            "seconds": self.train_time,
        }[axis]
        return None if value is None else float(value)

    @property
    def complete(self) -> bool:
        """Ended with a result: ok, or diverged (which is evidence too)."""
        return self.status in COMPLETE

    @property
    def live(self) -> bool:
        return self.status in ("running", "queued")

    @property
    def node(self) -> str | None:
        """The machine it ran on: the Slurm node when there is one, else the host."""
        return self.slurm_node or self.host


def signature(run_dir: Path | str) -> str | None:
    """Size and mtime of the run's files: equal signatures mean unchanged facts.

    None when the run has no `config.json` (not a run, or not reserved yet).
    """
    base = str(run_dir)
    try:
        config = os.stat(f"{base}/{CONFIG_FILE}")
    except FileNotFoundError:
        return None
    try:
        events = os.stat(f"{base}/{METRICS_FILE}")
        metrics_part = f"{events.st_size}:{events.st_mtime_ns}"
    except FileNotFoundError:
        metrics_part = "-"
    return f"{config.st_size}:{config.st_mtime_ns}/{metrics_part}"


def live_status(run_dir: Path, facts: RunFacts) -> str:
    """A cached unfinished run's status now: its process may have died since."""
    if facts.status not in ("running", "queued", "unknown"):
        return facts.status
    if is_live(run_dir):
        return facts.status if facts.status != "unknown" else "running"
    return "unknown"


def missing(run_id: str) -> RunFacts:
    """The facts of a run whose directory is gone (or never written)."""
    return RunFacts(run_id=run_id, status="missing")


def read_facts(run_dir: Path) -> RunFacts:
    """The facts recorded in `run_dir`."""
    run = read_run_events(run_dir)
    record, start, end = run.record, run.start, run.end
    metrics: dict[str, float | None] = {}
    if end is not None:
        metrics.update({k: _number(v) for k, v in end.metrics.items()})
        if "val_bpb" not in metrics and (end.final_val_bpb is not None or end.status == "nan"):
            metrics["val_bpb"] = end.final_val_bpb
        if end.status == "nan":
            # The last evaluation before a divergence is not the run's result.
            metrics = dict.fromkeys(metrics)

    def started(name: str) -> Any:
        """The start event's value, else config.json's (a run that never started)."""
        return getattr(start, name) if start else record.get(name)

    def from_start(name: str) -> Any:
        return getattr(start, name) if start else None

    def from_end(name: str) -> Any:
        return getattr(end, name) if end else None

    budget = started("budget")
    return RunFacts(
        run_id=run_dir.name,
        status=run.status,
        runner="command" if started("command") else "train",
        config=started("config") or {},
        budget=budget if isinstance(budget, dict) and budget else None,
        created=record.get("created"),
        started=from_start("t"),
        ended=from_end("t"),
        metrics=metrics,
        **{k: started(k) for k in _STARTED},
        **{k: from_start(k) for k in _START_ONLY},
        **{k: from_end(k) for k in _END_ONLY},
    )


# Which facts come from where: the start event (else config.json), the start event
# only, the end event only.
_STARTED = ("agent", "preset", "command", "config_hash", "init_seed", "data_seed", "host",
            "threads", "torch_version", "slurm_job_id", "slurm_node", "git_commit",
            "git_branch", "diff_hash")  # fmt: skip
_START_ONLY = ("total_steps", "device", "device_name", "gpu_type", "cuda_visible_devices",
               "dtype", "compiled", "data_hash", "eval_hash")  # fmt: skip
_END_ONLY = ("steps", "tokens", "flops", "train_time", "wall_time", "error")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def encode(facts: RunFacts) -> bytes:
    return msgspec.json.encode(facts)


def decode(data: bytes) -> RunFacts:
    return msgspec.json.decode(data, type=RunFacts)
