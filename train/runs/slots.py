"""Run slots: at most N training runs at once per workspace; the rest queue.

Eight agents sharing two cores must take turns, not thrash. A run takes one
of N slot files under `<runs dir>/.slots/` with a non-blocking exclusive
`flock`; the kernel releases it when the process exits, however it exits, so
no lock is ever stale. N is `MISSIONCTL_MAX_RUNS`, else the org's
`[runs] max_concurrent`, else unlimited.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from missionctl.errors import UserError
from missionctl.files import make_private_dir, open_private
from missionctl.orgfile import MAX_RUN_SLOTS
from missionctl.train.runs.envfacts import ENV_SLURM_JOB
from missionctl.workspace import Workspace

ENV_MAX_RUNS = "MISSIONCTL_MAX_RUNS"
SLOTS_DIR = ".slots"
# How often a queued run looks for a free slot; a slot frees when a run ends, so
# a quarter second is invisible next to runs that last seconds to hours.
POLL_SECONDS = 0.25


def slot_limit(ws: Workspace | None) -> int | None:
    """How many runs may train at once: the env, else the org file, else None (no limit)."""
    text = os.environ.get(ENV_MAX_RUNS, "").strip()
    if text:
        # ASCII digits, few of them: str.isdigit takes "²", and int() refuses 5,000 digits.
        if not (text.isascii() and text.isdigit() and len(text) <= 5) or not (
            1 <= int(text) <= MAX_RUN_SLOTS
        ):
            raise UserError(
                f"{ENV_MAX_RUNS}={text[:20]!r} must be a whole number from 1 to {MAX_RUN_SLOTS}"
            )
        return int(text)
    if ws is not None and ws.org_file.is_file():
        return ws.load_org().max_concurrent_runs
    return None


def cpu_count() -> int:
    """CPU cores this process may run on: its affinity, not the machine's total; in a
    Slurm job, no more than the job was given (Slurm need not pin the job to them)."""
    cores = len(os.sched_getaffinity(0))
    if os.environ.get(ENV_SLURM_JOB):
        given = os.environ.get("SLURM_CPUS_PER_TASK") or os.environ.get("SLURM_CPUS_ON_NODE")
        if given and given.isascii() and given.isdigit() and int(given) > 0:
            return min(cores, int(given))
    return cores


def default_threads(limit: int | None) -> int:
    """Torch threads for one run: an equal share of the cores among `limit` runs."""
    cores = cpu_count()
    return cores if limit is None else max(1, cores // limit)


class RunSlot:
    """One held slot; `release()` (or process exit) frees it."""

    def __init__(self, index: int, handle: IO[bytes] | None) -> None:
        self.index = index
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _try_take(slots_dir: Path, limit: int) -> RunSlot | None:
    for index in range(limit):
        fd = open_private(slots_dir / f"slot-{index}.lock", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        handle = os.fdopen(fd, "ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return RunSlot(index, handle)
    return None


def take_slot(
    runs_dir: Path,
    limit: int | None,
    on_wait: Callable[[int], None] = lambda busy: None,
    poll: float = POLL_SECONDS,
) -> RunSlot:
    """A free slot among `limit` under `runs_dir`, waiting as long as it takes.

    `on_wait(busy)` is called once, when the run has to queue. With no limit the
    slot is a formality that holds nothing.
    """
    if limit is None:
        return RunSlot(-1, None)
    slots_dir = runs_dir / SLOTS_DIR
    make_private_dir(slots_dir)
    slot = _try_take(slots_dir, limit)
    if slot is not None:
        return slot
    on_wait(limit)
    while True:
        # Polling, not a sleep standing in for a signal: flock has no "any of these" wait.
        time.sleep(poll)
        slot = _try_take(slots_dir, limit)
        if slot is not None:
            return slot
