"""Following a run's Slurm job in the agent's terminal, and settling how it ended.

The terminal shows what a local run shows — the job's state while it waits
(`job 42 pending (Priority)`), then the run's own output as the job writes it to
the shared filesystem, then the final line — and returns the exit code a local
run would. Ctrl-C (or SIGTERM, SIGHUP) cancels the job first.

How a run on Slurm ends: the trainer in the job writes its own `end` when it
finishes, diverges or crashes. When Slurm stops the job (a time limit, scancel,
preemption, a node failure, the OOM killer) the trainer writes none, and
`settle` writes it here from Slurm's account of the job: `timeout` for a time
limit, `crash` with Slurm's reason otherwise. A job that ended before its run
started leaves no run behind, as a local run stopped while queued does.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO

import msgspec

from missionctl.errors import UserError
from missionctl.files import NotAPlainFile, open_regular
from missionctl.train.runs import metrics
from missionctl.train.runs.jobfile import JobSeen, read_job, write_job
from missionctl.train.runs.reader import MetricsTail
from missionctl.train.runs.record import METRICS_FILE, OUTPUT_FILE, RunRecord
from missionctl.train.slurm import client

# How often the terminal looks at the job's output and metrics: they are files on
# the shared filesystem, so reading them costs Slurm nothing.
TICK_S = 0.25
# Once the run has written its end, or was cancelled, the job leaves the queue in
# a second or two: ask Slurm this often until it has.
ENDING_POLL_S = 0.5
# After a cancel, how long to wait for Slurm to end the job (its KillWait, then the
# kill) before leaving the rest to `missionctl runs`.
CANCEL_WAIT_S = 60.0
# A run's last lines can reach the login node a little after Slurm says the job
# completed (NFS caches attributes for seconds): read again for this long.
SHARED_FS_LAG_S = 3.0
EXIT_CODES = {"ok": 0, "nan": 3, "timeout": 4, "crash": 1}
# What `Follower.watch` returns besides a job: Slurm did not answer this time; or a
# cancelled job did not leave the queue in time (or Ctrl-C came again).
NO_ANSWER = "no answer"
GAVE_UP = "gave up"


@dataclass(frozen=True)
class Ending:
    """How Slurm ended a job, in the run's terms."""

    status: metrics.EndStatus
    error: str


def ending(job_id: str, job: client.Job | None, cancelled_by: str | None = None) -> Ending:
    """The `end` status and reason of a run whose job Slurm stopped (pure)."""
    if job is None:
        return Ending("crash", f"Slurm has no record of job {job_id} (purged from its memory)")
    state, node = job.state, f" on {job.node}" if job.node else ""
    if state == "TIMEOUT":
        limit = f" of {job.time_limit}" if job.time_limit else ""
        return Ending("timeout", f"Slurm job {job_id} reached its time limit{limit}")
    if state == "CANCELLED":
        who = f" by {cancelled_by}" if cancelled_by else " (scancel, or an administrator)"
        return Ending("crash", f"Slurm job {job_id} was cancelled{who}")
    if state == "PREEMPTED":
        return Ending("crash", f"Slurm job {job_id} was preempted{node} by a higher priority job")
    if state == "NODE_FAIL":
        return Ending("crash", f"Slurm job {job_id}'s node failed{node}")
    if state == "OUT_OF_MEMORY":
        return Ending(
            "crash",
            f"Slurm job {job_id} ran out of memory{node}; ask for more with mem in [runs.slurm]",
        )
    if state == "BOOT_FAIL":
        return Ending("crash", f"Slurm job {job_id}'s node failed to boot")
    if state == "DEADLINE":
        return Ending("crash", f"Slurm job {job_id} passed its deadline")
    if state == "FAILED":
        if job.signal:
            return Ending("crash", f"Slurm job {job_id} was killed by signal {job.signal}{node}")
        code = f" with exit code {job.exit_code}" if job.exit_code is not None else ""
        return Ending("crash", f"Slurm job {job_id} failed{code}{node}")
    if state == "COMPLETED":
        return Ending("crash", f"Slurm job {job_id} completed, but the run recorded no end")
    return Ending("crash", f"Slurm job {job_id} ended {state}")


@dataclass(frozen=True)
class Settled:
    """What `settle` did: the run's end (written now or by the job), or none if it never ran."""

    end: metrics.EndEvent | None
    written: bool  # True when settle wrote the end (Slurm stopped the job)
    never_ran: bool


def _wait_for_end(path: Path, job: client.Job | None) -> list[metrics.Event]:
    events = metrics.read_events(path)
    if job is None or job.state not in ("COMPLETED", "FAILED"):
        return events  # Slurm stopped it: the trainer wrote no end, none is coming
    deadline = time.monotonic() + SHARED_FS_LAG_S
    while not any(isinstance(e, metrics.EndEvent) for e in events):
        if time.monotonic() > deadline:
            break
        time.sleep(TICK_S)  # the job has ended; its last bytes may still be on their way
        events = metrics.read_events(path)
    return events


def record_job(run_dir: Path, job_id: str, job: client.Job, seen: JobSeen | None) -> JobSeen:
    """Write Slurm's word on the job to the run's job file, keeping what missionctl
    stored there (`seen`: when it was submitted, who cancelled it); return it."""
    now = JobSeen(
        job_id=job_id,
        state=job.state,
        reason=job.reason,
        node=job.node,
        submitted=seen.submitted if seen else None,
        cancelled_by=seen.cancelled_by if seen else None,
    )
    write_job(run_dir, now)
    return now


def settle(record_dir: Path, job_id: str, job: client.Job | None) -> Settled:
    """Record how the run ended once its job has left Slurm's queue.

    The run's own `end` stands when there is one. A run that never started is
    removed (it never ran). Otherwise the job was stopped by Slurm: write an
    `end` from Slurm's account, with what the run had done by then.
    """
    path = record_dir / METRICS_FILE
    try:
        events = _wait_for_end(path, job)
    except (NotAPlainFile, OSError) as exc:
        raise UserError(f"cannot read {path}: {exc}; the run's end was not recorded") from None
    end = next((e for e in reversed(events) if isinstance(e, metrics.EndEvent)), None)
    seen = read_job(record_dir)
    if job is not None:
        record_job(record_dir, job_id, job, seen)
    if end is not None:
        return Settled(end, written=False, never_ran=False)
    start = next((e for e in events if isinstance(e, metrics.StartEvent)), None)
    if start is None:
        # Stopped before it trained: like a local run stopped while queued, it leaves
        # nothing behind.
        shutil.rmtree(record_dir, ignore_errors=True)
        return Settled(None, written=False, never_ran=True)
    how = ending(job_id, job, seen.cancelled_by if seen else None)
    steps = [e for e in events if isinstance(e, metrics.StepEvent)]
    evals = [e for e in events if isinstance(e, metrics.EvalEvent)]
    last = steps[-1] if steps else None
    end = metrics.EndEvent(
        t=time.time(),
        status=how.status,
        error=how.error,
        steps=last.step if last else None,
        tokens=last.tokens if last else None,
        flops=last.flops if last else None,
        train_time=last.train_time if last else None,
        wall_time=time.time() - start.t,
        final_val_bpb=evals[-1].val_bpb if evals else None,
        best_val_bpb=min((e.val_bpb for e in evals), default=None),
        exit_code=job.exit_code if job else None,
    )
    writer = metrics.MetricsWriter(path)
    try:
        writer.write(end)
    finally:
        writer.close()
    return Settled(end, written=True, never_ran=False)


class _OutputTail:
    """The job's output file, read from where the last read stopped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def read(self) -> str:
        try:
            f = open_regular(self.path)
        except (FileNotFoundError, NotAPlainFile, OSError):
            return ""  # not written yet: the job has not started
        with f:
            f.seek(self.offset)
            data = f.read(1 << 20)
        # Whole lines only: the rest is read when its newline has arrived.
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        return complete.decode("utf-8", "replace")


class Follower:
    """Shows a run's job in this terminal until it ends; returns the run's exit code."""

    def __init__(self, record: RunRecord, job_id: str, poll: float, out: TextIO) -> None:
        self.record = record
        self.job_id = job_id
        self.poll = poll
        self.out = out
        self.signals: list[int] = []
        self._shown: tuple[str, str | None, str | None] | None = None
        self._complained = False

    def say(self, line: str) -> None:
        with contextlib.suppress(OSError, ValueError):  # the terminal went away: go on
            print(line, file=self.out, flush=True)

    def _show(self, text: str) -> None:
        if text:
            with contextlib.suppress(OSError, ValueError):
                self.out.write(text)
                self.out.flush()

    @contextlib.contextmanager
    def _catching_signals(self) -> Iterator[None]:
        def caught(signum: int, frame: FrameType | None) -> None:
            self.signals.append(signum)

        wanted = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        previous = {sig: signal.signal(sig, caught) for sig in wanted}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def _ask(self) -> client.Job | str | None:
        """The job now; NO_ANSWER when Slurm did not answer (said once, then retried)."""
        try:
            return client.job(self.job_id)
        except UserError as exc:
            if not self._complained:
                self.say(f"missionctl: cannot ask Slurm about job {self.job_id}: {exc}; retrying")
                self._complained = True
            return NO_ANSWER

    def _seen(self, job: client.Job) -> None:
        key = (job.state, job.reason, job.node)
        if key == self._shown:
            return
        self._shown = key
        now = record_job(self.record.path, self.job_id, job, read_job(self.record.path))
        self.say(now.describe())

    def _cancel(self) -> None:
        name = signal.Signals(self.signals[0]).name
        why = "Ctrl-C" if self.signals[0] == signal.SIGINT else name
        seen = read_job(self.record.path)
        if seen is not None and seen.cancelled_by is None:  # `missionctl kill` said first
            write_job(self.record.path, msgspec.structs.replace(seen, cancelled_by=why))
        self.say(f"{why}: cancelling Slurm job {self.job_id}")
        try:
            client.cancel([self.job_id])
        except UserError as exc:
            self.say(f"missionctl: {exc}")

    def watch(self) -> client.Job | str | None:
        """Follow until the job has left Slurm's queue; return its last state, or
        GAVE_UP when a cancelled job did not end in time (or Ctrl-C came again)."""
        output = _OutputTail(self.record.path / OUTPUT_FILE)
        tail = MetricsTail(self.record.path / METRICS_FILE)
        next_ask = asked = 0.0
        cancelled_at: float | None = None
        signals_then = 0
        while True:
            if self.signals and cancelled_at is None:
                self._cancel()
                cancelled_at, signals_then = time.monotonic(), len(self.signals)
            # A second Ctrl-C: stop waiting. (TERM and HUP come together when the agent is
            # killed: then the run is settled within the grace it is given.)
            if cancelled_at is not None and (
                signal.SIGINT in self.signals[signals_then:]
                or time.monotonic() - cancelled_at > CANCEL_WAIT_S
            ):
                return GAVE_UP
            text = output.read()
            progress = tail.poll()
            # Output, or any event (the start comes first); not the run id, which a
            # queued run on Slurm has from its job file before it starts.
            started = bool(text) or progress.as_of is not None
            ending_now = progress.status in metrics.END_STATUSES or cancelled_at is not None
            waiting = self._shown is None or self._shown[0] == "PENDING"
            # Sooner than the poll when there is news: the run has started (show where
            # before its lines), has ended, or was cancelled.
            urgent = ending_now or (started and waiting)
            now = time.monotonic()
            if now >= next_ask or (urgent and now >= asked + ENDING_POLL_S):
                asked, job = now, self._ask()
                if job is None or (isinstance(job, client.Job) and not job.active):
                    self._show(text + output.read())
                    return job
                if isinstance(job, client.Job):
                    self._seen(job)
                next_ask = time.monotonic() + (ENDING_POLL_S if ending_now else self.poll)
            self._show(text)
            time.sleep(TICK_S)  # a poll of files, not a wait for an event: none is sent

    def follow(self) -> int:
        """Follow the job, settle the run, say how it ended; the run's exit code."""
        with self._catching_signals():
            job = self.watch()
            interrupted = 128 + self.signals[0] if self.signals else None
            if job == GAVE_UP:
                self.say(
                    f"job {self.job_id} is still ending in Slurm; `missionctl runs` records"
                    " how the run ended once it has"
                )
                return interrupted or 1
            found = job if isinstance(job, client.Job) else None
            done = settle(self.record.path, self.job_id, found)
        if done.never_ran:
            state = found.state if found else "gone"
            print(
                f"missionctl: Slurm job {self.job_id} ended ({state.lower()}) before the run"
                " started; nothing was recorded",
                file=sys.stderr,
                flush=True,
            )
            if interrupted:
                return interrupted
            return found.exit_code if found and found.exit_code else 1
        assert done.end is not None
        if done.written:
            # The lines the trainer prints at its end, which it could not print.
            end = done.end
            self.say(f"error: {end.error}")
            bpb = "none" if end.final_val_bpb is None else f"{end.final_val_bpb:.4f}"
            self.say(f"run {self.record.run_id} {end.status} val_bpb={bpb}")
        if interrupted:
            return interrupted
        status = done.end.status
        if status == "crash" and done.end.exit_code:
            return done.end.exit_code
        return EXIT_CODES[status]
