"""`missionctl runs`: the training runs of a workspace, for people and agents at a shell."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from missionctl import workspace
from missionctl.cliargs import parser
from missionctl.textable import format_table
from missionctl.train import slurm
from missionctl.train.runs.reader import RunInfo, list_runs_in, load_run_in
from missionctl.train.runs.record import enclosing_workspace, runs_root


def _json(info: RunInfo) -> dict[str, Any]:
    return {**asdict(info), "path": str(info.path)}


def _bpb(value: float | None) -> str | None:
    return None if value is None else f"{value:.4f}"


def _when(stamp: float | None) -> str | None:
    return None if stamp is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def _settled(ws: workspace.Workspace | None, runs: list[RunInfo]) -> bool:
    """Settle the runs on Slurm whose following terminal was killed (they read
    `unknown`: no end, nobody holding them) from Slurm's account; whether any was."""
    stale = [r.path for r in runs if r.job_id is not None and r.status == "unknown"]
    if not stale or ws is None or not ws.org_file.is_file():
        return False
    if ws.load_org().executor != slurm.EXECUTOR:
        return False
    from missionctl.train.slurm import org as slurm_jobs

    return bool(slurm_jobs.settle_runs(ws, stale))


def main(argv: list[str]) -> int:
    """List runs, or show one; `--json` for scripts."""
    ap = parser("runs", "Training runs recorded in the workspace (or ./runs outside one).")
    verbs = ap.add_subparsers(dest="verb", metavar="VERB")
    ls = verbs.add_parser("list", help="every run, oldest first (the default)")
    ls.add_argument("--agent", help="only this agent's runs")
    ls.add_argument("--json", action="store_true", help="print JSON")
    show = verbs.add_parser("show", help="one run in full, as JSON")
    show.add_argument("run_id", metavar="RUN_ID")
    args = ap.parse_args(argv)

    ws = enclosing_workspace()
    root = runs_root(ws)
    if args.verb == "show":
        run = load_run_in(root, args.run_id)
        if _settled(ws, [run]):
            run = load_run_in(root, args.run_id)
        print(json.dumps(_json(run), indent=2))
        return 0
    runs = list_runs_in(root)
    if _settled(ws, runs):
        runs = list_runs_in(root)
    agent = getattr(args, "agent", None)
    if agent:
        runs = [r for r in runs if r.agent == agent]
    if getattr(args, "json", False):
        print(json.dumps([_json(r) for r in runs], indent=2))
        return 0
    headers = ["run", "agent", "preset", "status", "budget", "seed", "steps", "val_bpb", "best"]
    rows: list[list[Any]] = [
        [
            r.run_id,
            r.agent,
            r.preset,
            r.status,
            r.budget,
            r.init_seed,
            r.steps,
            _bpb(r.final_val_bpb),
            _bpb(r.best_val_bpb),
        ]
        for r in runs
    ]
    if any(r.job_id for r in runs):  # runs on Slurm: where each job is, or how it ended
        headers += ["job", "node", "job state"]
        for row, r in zip(rows, runs, strict=True):
            row += [r.job_id, r.node, r.job_state]
    for row, r in zip(rows, runs, strict=True):
        row.append(_when(r.created))
    print(format_table([*headers, "created"], rows))
    return 0
