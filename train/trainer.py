"""One training run, from reserving its directory to its `end` event.

The order matters: everything a user can get wrong (config, device, data) is
checked before the run directory exists; the `start` event is written before
anything that can crash, and every way out of the loop (done, NaN, time
limit, exception, signal) writes `end`.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import math
import os
import resource
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple, TextIO

import torch

from missionctl.errors import UserError
from missionctl.train.config import Budget, TrainConfig
from missionctl.train.data import Corpus, TrainBatches, load_corpus, val_batches
from missionctl.train.model import flops
from missionctl.train.model.gpt import GPT
from missionctl.train.model.optim import build_optimizers, lr_multiplier, set_lr
from missionctl.train.runs import envfacts, metrics
from missionctl.train.runs.record import (
    RunRecord,
    check_run_id,
    current_workspace,
    git_state,
    new_run_id,
    runs_root,
)
from missionctl.train.runs.slots import default_threads, slot_limit, take_slot
from missionctl.units import duration, si
from missionctl.workspace import ENV_AGENT

LOSS_LIMIT = 100.0  # a byte-level loss above this has diverged (uniform is ln 256 = 5.5)
PRINT_EVERY_SECONDS = 30.0  # progress lines at least this often on long runs
EXIT_CODES = {"ok": 0, "nan": 3, "timeout": 4}


@dataclass(frozen=True)
class RunRequest:
    """What to run: a preset's config with overrides, a budget, seeds and data."""

    preset: str
    config: TrainConfig
    budget: Budget
    init_seed: int = 0
    data_seed: int = 0
    data: Path | None = None
    threads: int | None = None
    run_id: str | None = None
    time_limit: float | None = None
    argv: tuple[str, ...] = ()
    # `--exp ID --arm A`: recorded in config.json, and `attach(run_id)` is called once
    # the run's directory is reserved, before it waits for a slot or trains; it
    # raises `UserError` to refuse the run, which then leaves nothing behind.
    experiment: str | None = None
    arm: str | None = None
    attach: Callable[[str], None] | None = None
    # A Slurm job's trainer adopts the run its submitter reserved (`run_id`), takes no
    # local run slot (Slurm schedules), and leaves the `end` of a run Slurm stops to
    # the submitter, which learns from Slurm why (a time limit is not a crash).
    adopt: bool = False


@dataclass
class RunResult:
    """How a run ended; `exit_code` is what the CLI returns."""

    run_id: str
    path: Path
    status: str = "crash"
    error: str | None = None
    exit_code: int = 1
    steps: int = 0
    tokens: int = 0
    flops: float = 0.0
    train_time: float = 0.0
    losses: list[float] = field(default_factory=list)
    final_val_bpb: float | None = None
    best_val_bpb: float | None = None


class RunInterrupted(Exception):
    """A signal asked the run to stop (SIGTERM, SIGHUP); Ctrl-C arrives as KeyboardInterrupt."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into `RunInterrupted` so the run can write its `end`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise RunInterrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class Compute(NamedTuple):
    """Where and how a run computes: its device, its dtype's name, and whether it compiles."""

    device: torch.device
    dtype: str
    compiled: bool


def resolve_device(config: TrainConfig) -> Compute:
    """Where and how `config` computes on this machine."""
    has_cuda = torch.cuda.is_available()
    if config.device == "cuda" and not has_cuda:
        raise UserError(
            f"device=cuda, but this torch ({torch.__version__}) sees no CUDA GPU;"
            " use --set device=cpu (or auto)"
        )
    kind = "cuda" if config.device == "cuda" or (config.device == "auto" and has_cuda) else "cpu"
    dtype = (
        config.dtype if config.dtype != "auto" else ("bfloat16" if kind == "cuda" else "float32")
    )
    # Compiling pays on a GPU; on a CPU its minutes of C++ builds cost more than they save.
    compiled = config.compile == "on" or (config.compile == "auto" and kind == "cuda")
    return Compute(torch.device(kind), dtype, compiled)


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return envfacts.cpu_name()


def eval_hash(corpus: Corpus) -> str:
    """A hash of how runs are scored: the evaluation code and the validation bytes.

    Two runs with equal hashes were scored by the same code on the same bytes; the
    ledger refuses to compare runs whose hashes differ (a changed evaluation).
    """
    digest = hashlib.sha256()
    for scorer in (val_batches, _Run._evaluate):
        try:
            digest.update(inspect.getsource(scorer).encode())
        except OSError:  # no source shipped (a zipped or stripped install): hash the bytecode
            digest.update(inspect.unwrap(scorer).__code__.co_code)
    digest.update(hashlib.sha256(corpus.val).digest())
    return digest.hexdigest()[:16]


def _memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def train(request: RunRequest, out: TextIO | None = None) -> RunResult:
    """Run `request` to its end; return how it ended (an exception is re-raised after `end`)."""
    out = out or sys.stdout
    config = request.config
    config.check()
    compute = resolve_device(config)
    corpus = load_corpus(request.data, min_bytes=config.seq_len + 2)
    ws = current_workspace()
    limit = None if request.adopt else slot_limit(ws)
    threads = request.threads or default_threads(limit)
    agent = os.environ.get(ENV_AGENT) or None
    root = runs_root(ws)
    run_id = check_run_id(request.run_id) if request.run_id else new_run_id(agent)
    record = RunRecord(root, run_id, adopt=request.adopt)
    started = False
    env = envfacts.environment()
    try:
        with _signals_raise():
            git = git_state(Path.cwd())
            record.write_diff(git.diff)
            experiment = (
                {"id": request.experiment, "arm": request.arm} if request.experiment else None
            )
            record.write_config(
                {
                    "run_id": run_id,
                    "agent": agent,
                    "preset": request.preset,
                    "config": config.to_json(),
                    "config_hash": config.config_hash,
                    "budget": request.budget.to_json(),
                    "init_seed": request.init_seed,
                    "data_seed": request.data_seed,
                    "data": str(request.data) if request.data else None,
                    "time_limit": request.time_limit,
                    "argv": list(request.argv),
                    "cwd": str(Path.cwd()),
                    # The code, known before the run starts: a queued run is compared too.
                    "git_commit": git.commit,
                    "git_branch": git.branch,
                    "diff_hash": git.diff_hash,
                    "created": time.time(),
                    "experiment": experiment,
                    "host": env.host,
                    "slurm_job_id": env.slurm_job_id,
                    "slurm_node": env.slurm_node,
                    "cuda_visible_devices": env.cuda_visible_devices,
                    "torch_version": torch.__version__,
                    "threads": threads,
                }
            )
            if request.attach is not None:
                request.attach(run_id)
            print(
                f"run {run_id} {request.preset} seed={request.init_seed}"
                f" budget={request.budget} -> {record.path}",
                file=out,
                flush=True,
            )

            def waiting(busy: int) -> None:
                print(f"waiting for a run slot ({busy} of {limit} busy)", file=out, flush=True)

            slot = take_slot(root, limit, waiting)
            started = True
            try:
                run = _Run(request, record, corpus, compute, threads, agent, out)
                return run.execute(git.commit, git.branch, git.diff_hash)
            finally:
                slot.release()
    except BaseException:
        if not started:
            # Stopped (or failed) before it had a slot: it never ran, so it leaves no
            # run behind, and its id can be used again.
            record.discard()
        raise
    finally:
        record.close()


class _Run:
    """The state of one run between its `start` and `end` events."""

    def __init__(
        self,
        request: RunRequest,
        record: RunRecord,
        corpus: Corpus,
        compute: Compute,
        threads: int,
        agent: str | None,
        out: TextIO,
    ) -> None:
        self.request = request
        self.config = request.config
        self.record = record
        self.corpus = corpus
        self.device, self.dtype, self.compiled = compute
        self.threads = threads
        self.agent = agent
        self.out = out
        self.writer = metrics.MetricsWriter(record.metrics_path)
        self.result = RunResult(record.run_id, record.path)
        self.total_steps = flops.steps_in_budget(request.budget, self.config)
        self.flops_per_token = flops.flops_per_token(self.config)
        self.flops_per_step = float(self.flops_per_token * self.config.tokens_per_step)
        self.peak = flops.peak_flops(
            _device_name(self.device) if self.device.type == "cuda" else None, self.dtype
        )
        self.wall_start = time.time()
        self.last_print = 0.0
        self.next_print = 0.0

    # -- output ---------------------------------------------------------------

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def progress(self) -> float:
        """Fraction of the budget used so far."""
        if self.total_steps is None:
            return min(1.0, self.result.train_time / self.request.budget.amount)
        return min(1.0, self.result.steps / self.total_steps)

    # -- setup ----------------------------------------------------------------

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.dtype == "bfloat16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _start_event(self, commit: str | None, branch: str | None, diff_hash: str | None) -> None:
        cfg = self.config
        env = envfacts.environment()
        self.writer.write(
            metrics.StartEvent(
                t=time.time(),
                run_id=self.record.run_id,
                agent=self.agent,
                preset=self.request.preset,
                git_commit=commit,
                git_branch=branch,
                diff_hash=diff_hash,
                config=cfg.to_json(),
                config_hash=cfg.config_hash,
                init_seed=self.request.init_seed,
                data_seed=self.request.data_seed,
                budget=self.request.budget.to_json(),
                total_steps=self.total_steps,
                tokens_per_step=cfg.tokens_per_step,
                device=self.device.type,
                device_name=_device_name(self.device),
                dtype=self.dtype,
                compiled=self.compiled,
                threads=self.threads,
                torch_version=torch.__version__,
                n_params=flops.n_params(cfg),
                n_params_matmul=flops.matmul_params(cfg),
                n_params_embedding=flops.embedding_params(cfg),
                flops_per_token=self.flops_per_token,
                peak_flops=self.peak,
                data=self.corpus.describe(),
                data_hash=self.corpus.data_hash,
                host=socket.gethostname(),
                pid=os.getpid(),
                eval_hash=eval_hash(self.corpus),
                slurm_job_id=env.slurm_job_id,
                slurm_node=env.slurm_node,
                gpu_type=_device_name(self.device) if self.device.type == "cuda" else None,
                cuda_visible_devices=env.cuda_visible_devices,
            )
        )
        if self.total_steps:
            epochs = self.total_steps * self.config.tokens_per_step / max(len(self.corpus.train), 1)
            if epochs > 1:
                # A model that sees its data many times learns it by heart: val_bpb then
                # measures memorisation, not the change under test.
                self.say(
                    f"warning: this budget reads the training data {epochs:.1f} times;"
                    " give a larger corpus with --data for a meaningful val_bpb"
                )

    # -- the run --------------------------------------------------------------

    def execute(self, commit: str | None, branch: str | None, diff_hash: str | None) -> RunResult:
        torch.set_num_threads(self.threads)
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self.wall_start = time.time()
        self._start_event(commit, branch, diff_hash)
        try:
            status, error = self._loop()
        except KeyboardInterrupt:
            self._interrupted("interrupted by SIGINT (Ctrl-C)", exit_code=130)
            return self.result
        except RunInterrupted as exc:
            self._interrupted(str(exc), exit_code=128 + exc.signum)
            return self.result
        except BaseException as exc:
            self._end("crash", f"{type(exc).__name__}: {exc}", exit_code=1)
            raise
        self._end(status, error, exit_code=EXIT_CODES[status])
        return self.result

    def _loop(self) -> tuple[metrics.EndStatus, str | None]:
        cfg = self.config
        torch.manual_seed(self.request.init_seed)
        model = GPT(cfg).to(self.device)
        optimizers = build_optimizers(model, cfg)
        forward: Callable[..., torch.Tensor] = model.loss
        if self.compiled:
            forward = torch.compile(model.loss)
        batches = TrainBatches(
            self.corpus.train, cfg.batch_size, cfg.seq_len, self.request.data_seed
        )
        params = [p for p in model.parameters()]
        clip = cfg.grad_clip if cfg.grad_clip > 0 else math.inf
        smooth, beta = 0.0, 0.9
        eval_marks = [(j + 1) / (cfg.evals + 1) for j in range(cfg.evals)]
        res = self.result
        while True:
            lr = set_lr(optimizers, lr_multiplier(self.progress(), cfg))
            t0 = time.perf_counter()
            loss_sum = torch.zeros((), device=self.device)
            for _ in range(cfg.grad_accum):
                x, y = batches.next()
                x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
                with self._autocast():
                    loss = forward(x, y)
                torch.autograd.backward(loss / cfg.grad_accum)
                loss_sum += loss.detach()
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, clip))
            for opt in optimizers:
                opt.step()
            model.zero_grad(set_to_none=True)
            step_loss = loss_sum.item() / cfg.grad_accum  # .item() waits for the GPU
            dt = time.perf_counter() - t0
            res.steps += 1
            res.tokens += cfg.tokens_per_step
            res.flops += self.flops_per_step
            res.train_time += dt
            res.losses.append(step_loss)
            diverged = not math.isfinite(step_loss) or step_loss > LOSS_LIMIT
            if not diverged:
                smooth = beta * smooth + (1 - beta) * step_loss
            smoothed = smooth / (1 - beta**res.steps)
            progress = self.progress()
            tok_s = cfg.tokens_per_step / dt
            self.writer.write(
                metrics.StepEvent(
                    **self._where(progress),
                    loss=metrics.finite(step_loss),
                    loss_smooth=metrics.finite(smoothed),
                    lr=lr,
                    grad_norm=metrics.finite(grad_norm),
                    dt=dt,
                    tok_s=tok_s,
                    mfu=flops.mfu(self.flops_per_step / dt, self.peak),
                    mem_mb=_memory_mb(self.device),
                )
            )
            if diverged:
                return (
                    "nan",
                    f"loss {step_loss:g} at step {res.steps} (not finite or > {LOSS_LIMIT:g})",
                )
            self._report(step_loss, smoothed, lr, tok_s, progress)
            if progress >= 1:
                diverged_at = self._evaluate(model, "final")
                return ("nan", diverged_at) if diverged_at else ("ok", None)
            while eval_marks and progress >= eval_marks[0]:
                eval_marks.pop(0)
                diverged_at = self._evaluate(model, "eval")
                if diverged_at:
                    return "nan", diverged_at
            limit = self.request.time_limit
            if limit is not None and time.time() - self.wall_start >= limit:
                return "timeout", f"the time limit of {limit:g} s passed at step {res.steps}"

    def _report(
        self, loss: float, smoothed: float, lr: float, tok_s: float, progress: float
    ) -> None:
        now = time.monotonic()
        res = self.result
        if (
            res.steps > 1
            and progress < self.next_print
            and now - self.last_print < PRINT_EVERY_SECONDS
        ):
            return
        self.last_print = now
        self.next_print = math.floor(progress * 10 + 1e-9) / 10 + 0.1
        of = f"/{self.total_steps}" if self.total_steps else ""
        eta = ""
        if progress > 0:
            elapsed = time.time() - self.wall_start
            eta = f" eta {duration(elapsed * (1 - progress) / progress)}"
        self.say(
            f"step {res.steps}{of} {progress:4.0%} loss {loss:.4f} (avg {smoothed:.4f})"
            f" lr {lr:.2e} {si(tok_s)} tok/s{eta}"
        )

    @torch.no_grad()
    def _evaluate(self, model: GPT, label: str) -> str | None:
        """Validate and record it; a diverged validation loss is returned as the reason."""
        cfg = self.config
        model.eval()
        total, count = 0.0, 0
        for x, y in val_batches(self.corpus.val, cfg.batch_size, cfg.seq_len, cfg.eval_tokens):
            x, y = x.to(self.device), y.to(self.device)
            with self._autocast():
                loss = model.loss(x, y)
            total += float(loss) * y.numel()
            count += y.numel()
        model.train()
        val_loss = total / count
        if not math.isfinite(val_loss) or val_loss > LOSS_LIMIT:
            # The weights went bad after the last training loss was taken.
            return (
                f"validation loss {val_loss:g} at step {self.result.steps}"
                f" (not finite or > {LOSS_LIMIT:g})"
            )
        val_bpb = val_loss / math.log(2)
        res = self.result
        res.final_val_bpb = val_bpb
        res.best_val_bpb = val_bpb if res.best_val_bpb is None else min(res.best_val_bpb, val_bpb)
        self.writer.write(
            metrics.EvalEvent(
                **self._where(self.progress()),
                val_loss=val_loss,
                val_bpb=val_bpb,
            )
        )
        self.say(f"{label} step {res.steps} {self.progress():.0%} val_bpb {val_bpb:.4f}")
        return None

    def _where(self, progress: float) -> dict[str, Any]:
        """The fields every step and eval event shares: where the run is now."""
        res = self.result
        return {"t": time.time(), "step": res.steps, "tokens": res.tokens, "flops": res.flops,
                "train_time": res.train_time, "progress": progress}  # fmt: skip

    def _interrupted(self, why: str, exit_code: int) -> None:
        if not self.request.adopt:
            self._end("crash", why, exit_code)
            return
        # In a Slurm job, a signal is Slurm stopping the job: the submitter writes the
        # end with Slurm's reason (time limit, cancel, preemption).
        res = self.result
        res.status, res.error, res.exit_code = "crash", why, exit_code
        self.writer.close()
        self.say(f"run {self.record.run_id} {why} at step {res.steps}")

    def _end(self, status: metrics.EndStatus, error: str | None, exit_code: int) -> None:
        res = self.result
        res.status, res.error, res.exit_code = status, error, exit_code
        self.writer.write(
            metrics.EndEvent(
                t=time.time(),
                status=status,
                error=error,
                steps=res.steps,
                tokens=res.tokens,
                flops=res.flops,
                train_time=res.train_time,
                wall_time=time.time() - self.wall_start,
                final_val_bpb=metrics.finite(res.final_val_bpb),
                best_val_bpb=metrics.finite(res.best_val_bpb),
            )
        )
        self.writer.close()
        if error:
            self.say(f"error: {error}")
        bpb = "none" if res.final_val_bpb is None else f"{res.final_val_bpb:.4f}"
        self.say(f"run {self.record.run_id} {status} val_bpb={bpb}")
