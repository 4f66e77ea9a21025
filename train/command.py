"""`missionctl run [--exp ID --arm A --seed N] -- CMD ...`: record a run of any command.

A real nanochat script, a shell pipeline, anything: the run is recorded in the
same runs dir format the trainer writes (`config.json`, `diff.patch`, a
`metrics.jsonl` with `start` and `end`, the lock), so `missionctl runs`, the
app's metrics strip and the experiment ledger treat it like a trainer run.
Beside those: `stdout.log` and `stderr.log` (the output is also shown as it
comes) and `reported.jsonl`.

The final metrics come from two places, JSON winning over scraped text:

- JSON lines the command appends to the file named by `$MISSIONCTL_METRICS`,
  e.g. `{"val_bpb": 1.234, "steps": 1000, "flops": 3e12}`; the last value of
  each key wins. `steps`, `tokens`, `flops` and `train_time` are the budget
  spent; every other number is a metric. A non-finite metric makes the run `nan`;
- the org's `[metrics]` regexes in org.toml (`val_bpb = 'Validation bpb: ([0-9.]+)'`),
  matched against every output line; the last match wins.

The command gets `MISSIONCTL_METRICS`, `MISSIONCTL_RUN_ID` and, with `--seed`,
`MISSIONCTL_SEED`. Its config is what its command line sets: every
`--key=value` or `key=value` argument, the rest of the line as `command`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import IO, Any

from missionctl.cliargs import parser
from missionctl.errors import UserError
from missionctl.names import ENV_AGENT, ENV_WORKSPACE
from missionctl.train import slurm
from missionctl.train.commandline import command_config
from missionctl.train.config import MAX_SEED
from missionctl.train.gate import PlannedRun, RunGate, load_gate
from missionctl.train.runs import envfacts, metrics
from missionctl.train.runs.record import (
    RunRecord,
    check_run_id,
    enclosing_workspace,
    git_state,
    new_run_id,
    runs_root,
)
from missionctl.train.runs.slots import slot_limit, take_slot

ENV_METRICS = "MISSIONCTL_METRICS"
ENV_RUN_ID = "MISSIONCTL_RUN_ID"
ENV_SEED = "MISSIONCTL_SEED"
REPORTED_FILE = "reported.jsonl"
BUDGET_KEYS = ("steps", "tokens", "flops", "train_time")
# After the time limit, SIGTERM; after this grace, SIGKILL.
KILL_GRACE_S = 10.0


def config_hash(config: Mapping[str, Any]) -> str:
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_reported(path: Path) -> dict[str, float]:
    """The last value of each number in a `$MISSIONCTL_METRICS` file; bad lines are skipped."""
    values: dict[str, float] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return values
    for line in text.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        for key, value in obj.items():
            if isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                values[str(key)] = float(value)
            elif value is None:
                values[str(key)] = math.nan  # a metric the command could not compute
    return values


class _Scraper:
    """Applies the org's `[metrics]` regexes to output lines; the last match wins."""

    def __init__(self, patterns: Mapping[str, str]) -> None:
        self.patterns = {name: re.compile(p) for name, p in patterns.items()}
        self.values: dict[str, float] = {}
        self.lock = threading.Lock()

    def feed(self, line: str) -> None:
        for name, pattern in self.patterns.items():
            for m in pattern.finditer(line):
                try:
                    value = float(m.group(1))
                except (ValueError, IndexError):
                    continue
                with self.lock:
                    self.values[name] = value


def _pump(source: IO[bytes], sink: IO[str], log: IO[bytes], scraper: _Scraper) -> None:
    for raw in iter(source.readline, b""):
        log.write(raw)
        log.flush()
        text = raw.decode("utf-8", "replace")
        try:
            sink.write(text)
            sink.flush()
        except (OSError, ValueError):
            pass  # our terminal went away; the log keeps the output
        scraper.feed(text)


def main(argv: list[str]) -> int:
    """Run and record the command after `--`; return its exit code."""
    ap = parser("run", "Run any command and record it as a run (for the ledger and the app).")
    ap.add_argument("--exp", metavar="ID", help="run for experiment ID (with --arm and --seed)")
    ap.add_argument("--arm", metavar="NAME", help="the experiment's arm this run belongs to")
    ap.add_argument(
        "--seed", type=int, help="the seed the command uses (exported as MISSIONCTL_SEED)"
    )
    ap.add_argument("--run-id", help="the run's id (default <agent|local>-<UTC time>-<hex>)")
    ap.add_argument("--time-limit", type=float, metavar="SECONDS",
                    help="stop the command (status timeout) after this long")  # fmt: skip
    ap.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD ...")
    args = ap.parse_args(argv)
    cmd = list(args.command)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise UserError(
            "missionctl run needs a command after --, e.g. missionctl run -- python train.py"
        )
    if (args.exp is None) != (args.arm is None):
        raise UserError("--exp and --arm go together: name the experiment and its arm")
    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:
        raise UserError(f"--seed {args.seed} is out of range; seeds go from 0 to 2**63-1")
    if args.time_limit is not None and args.time_limit <= 0:
        raise UserError(f"--time-limit {args.time_limit:g} must be a positive number of seconds")
    if args.run_id is not None:
        check_run_id(args.run_id)
    config = command_config(cmd)
    git = git_state(Path.cwd())
    gate: RunGate | None = None
    planned: PlannedRun | None = None
    # Inside a Slurm job: the run its submitter reserved, already checked and attached.
    job_run = slurm.job_run()
    if args.exp is not None and job_run is None:
        if args.seed is None:
            raise UserError("--exp needs --seed N: an experiment's runs are paired by seed")
        planned = PlannedRun(
            experiment=args.exp,
            arm=args.arm,
            runner="command",
            preset=None,
            config=config,
            budget=None,
            argv=tuple(cmd),
            init_seed=args.seed,
            data_seed=args.seed,
            git_commit=git.commit,
            diff_hash=git.diff_hash,
        )
        gate = load_gate()
        os.environ[ENV_WORKSPACE] = str(gate.check(planned))
    ws = enclosing_workspace()
    agent = os.environ.get(ENV_AGENT) or None
    # What the run's config.json says of it, here or as a Slurm job.
    described = {
        "preset": None,
        "command": cmd,
        "config": config,
        "config_hash": config_hash(config),
        "init_seed": args.seed,
        "data_seed": args.seed,
        "time_limit": args.time_limit,
        "experiment": {"id": args.exp, "arm": args.arm} if args.exp else None,
        "git_commit": git.commit,
        "git_branch": git.branch,
        "diff_hash": git.diff_hash,
    }
    org = ws.load_org() if ws is not None and ws.org_file.is_file() else None
    on_slurm = slurm.settings_for(ws, org)
    if on_slurm is not None and ws is not None:
        from missionctl.train.slurm.submit import Submission, submit_and_follow

        return submit_and_follow(
            Submission(
                ws=ws,
                settings=on_slurm,
                run_id=args.run_id,
                agent=agent,
                args=("-m", "missionctl", "run", *argv),
                record=described,
                diff=git.diff,
                attach=(lambda run_id: gate.attach(planned, run_id)) if planned and gate else None,
                finished=(lambda run_id: gate.finished(planned, run_id))
                if planned and gate
                else None,
            ),
            sys.stdout,
        )
    patterns = org.metrics if org is not None else {}
    root = runs_root(ws)
    run_id = job_run or args.run_id or new_run_id(agent)
    record = RunRecord(root, run_id, adopt=job_run is not None)
    started = False
    try:
        record.write_diff(git.diff)
        env = envfacts.environment()
        record.write_config(
            {
                "run_id": run_id,
                "agent": agent,
                **described,
                "cwd": str(Path.cwd()),
                "created": time.time(),
                "host": env.host,
                "slurm_job_id": env.slurm_job_id,
                "slurm_node": env.slurm_node,
                "cuda_visible_devices": env.cuda_visible_devices,
                "torch_version": env.torch_version,
            }
        )
        if gate is not None and planned is not None:
            gate.attach(planned, run_id)
        limit = None if job_run else slot_limit(ws)  # in a Slurm job, Slurm schedules

        def waiting(busy: int) -> None:
            print(f"waiting for a run slot ({busy} of {limit} busy)", file=sys.stderr, flush=True)

        slot = take_slot(root, limit, waiting)
        started = True
        try:
            code = _execute(record, cmd, config, args, git, env, agent, _Scraper(patterns))
        finally:
            slot.release()
    except BaseException:
        if not started:
            record.discard()  # never ran: nothing left behind, the id is free again
        raise
    finally:
        record.close()
    if gate is not None and planned is not None:
        gate.finished(planned, run_id)
    return code


def _execute(
    record: RunRecord,
    cmd: list[str],
    config: dict[str, Any],
    args: Any,
    git: Any,
    env: envfacts.Environment,
    agent: str | None,
    scraper: _Scraper,
) -> int:
    gpu = envfacts.visible_gpu_name()
    writer = metrics.MetricsWriter(record.metrics_path)
    reported = record.path / REPORTED_FILE
    writer.write(
        metrics.StartEvent(
            t=time.time(),
            run_id=record.run_id,
            agent=agent,
            preset=None,
            git_commit=git.commit,
            git_branch=git.branch,
            diff_hash=git.diff_hash,
            config=config,
            config_hash=config_hash(config),
            init_seed=args.seed,
            data_seed=args.seed,
            budget={},
            total_steps=None,
            tokens_per_step=None,
            device="cuda" if gpu else "cpu",
            device_name=gpu or envfacts.cpu_name(),
            dtype=None,
            compiled=None,
            threads=envfacts.cpu_threads(),
            torch_version=env.torch_version,
            n_params=None,
            n_params_matmul=None,
            n_params_embedding=None,
            flops_per_token=None,
            peak_flops=None,
            data=None,
            data_hash=None,
            host=env.host,
            pid=os.getpid(),
            slurm_job_id=env.slurm_job_id,
            slurm_node=env.slurm_node,
            gpu_type=gpu,
            cuda_visible_devices=env.cuda_visible_devices,
            command=cmd,
        )
    )
    child_env = {
        **os.environ,
        ENV_METRICS: str(reported),
        ENV_RUN_ID: record.run_id,
        "PYTHONUNBUFFERED": os.environ.get("PYTHONUNBUFFERED", "1"),  # show output as it comes
    }
    if args.seed is not None:
        child_env[ENV_SEED] = str(args.seed)
    print(f"run {record.run_id}: {shlex.join(cmd)} -> {record.path}", file=sys.stderr, flush=True)
    wall_start = time.time()
    try:
        child = subprocess.Popen(
            cmd, env=child_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
    except OSError as exc:
        _end(writer, "crash", f"cannot start {cmd[0]!r}: {exc.strerror}", wall_start, None, {}, 127)
        raise UserError(f"cannot start {cmd[0]!r}: {exc.strerror}; check the command") from None
    received: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        child.send_signal(signum)

    previous = {
        sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    logs = [(record.path / "stdout.log").open("wb"), (record.path / "stderr.log").open("wb")]
    assert child.stdout is not None and child.stderr is not None
    pumps = [
        threading.Thread(target=_pump, args=(child.stdout, sys.stdout, logs[0], scraper)),
        threading.Thread(target=_pump, args=(child.stderr, sys.stderr, logs[1], scraper)),
    ]
    for pump in pumps:
        pump.start()
    timed_out = False
    try:
        # No timeout of our own: the command is a training run of any length; the
        # user's --time-limit is its timeout.
        try:
            returncode = child.wait(timeout=args.time_limit)
        except subprocess.TimeoutExpired:
            timed_out = True
            child.terminate()
            try:
                returncode = child.wait(timeout=KILL_GRACE_S)
            except subprocess.TimeoutExpired:
                child.kill()
                returncode = child.wait()
        for pump in pumps:
            pump.join()
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        for log in logs:
            log.close()
    values = {**scraper.values, **read_reported(reported)}
    budget = {k: values.pop(k) for k in BUDGET_KEYS if k in values}
    status: metrics.EndStatus
    error: str | None
    if timed_out:
        status, error = "timeout", f"the time limit of {args.time_limit:g} s passed"
        code = 4
    elif received:
        status, error = "crash", f"interrupted by {signal.Signals(received[0]).name}"
        code = 128 + received[0]
        if record.adopted:
            # In a Slurm job, a signal is Slurm stopping the job: the submitter writes
            # the end with Slurm's reason (time limit, cancel, preemption).
            writer.close()
            print(f"run {record.run_id} {error}", file=sys.stderr, flush=True)
            return code
    elif returncode < 0:
        status, error = "crash", f"killed by {signal.Signals(-returncode).name}"
        code = 128 - returncode
    elif returncode > 0:
        status, error, code = "crash", f"exit code {returncode}", returncode
    elif any(not math.isfinite(v) for v in values.values()):
        bad = ", ".join(k for k, v in values.items() if not math.isfinite(v))
        status, error, code = "nan", f"the command reported a non-finite {bad}", 0
    else:
        status, error, code = "ok", None, 0
    _end(writer, status, error, wall_start, returncode, {**values, **budget}, code)
    val = values.get("val_bpb")
    shown = "none" if val is None else f"{val:.4f}"
    print(f"run {record.run_id} {status} val_bpb={shown}", file=sys.stderr, flush=True)
    return code


def _end(
    writer: metrics.MetricsWriter,
    status: metrics.EndStatus,
    error: str | None,
    wall_start: float,
    returncode: int | None,
    values: Mapping[str, float],
    code: int,
) -> None:
    def number(key: str) -> float | None:
        value = values.get(key)
        return value if value is not None and math.isfinite(value) else None

    steps, tokens = number("steps"), number("tokens")
    writer.write(
        metrics.EndEvent(
            t=time.time(),
            status=status,
            error=error,
            steps=None if steps is None else int(steps),
            tokens=None if tokens is None else int(tokens),
            flops=number("flops"),
            train_time=number("train_time"),
            wall_time=time.time() - wall_start,
            final_val_bpb=number("val_bpb"),
            best_val_bpb=None,
            exit_code=returncode,
            metrics={k: number(k) for k in values if k not in BUDGET_KEYS},
        )
    )
    writer.close()
