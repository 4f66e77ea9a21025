"""How fast the ledger answers, against reading the same runs' metrics files directly.

Prints, each beside a baseline measured in the same process:

- the verdict of an experiment of 2 arms x 10 seeds: the ledger reading the runs
  (nothing cached) and answering again (cached), against reading the 20 runs'
  metrics files and pairing their final val_bpb by hand (no statistics at all);
- `exp list` over 1,000 runs (50 such experiments): the ledger with nothing
  cached and cached, against reading the 1,000 metrics files;
- the app's ledger board over the same 1,000 runs: a poll when nothing changed
  (what the app pays each second) and a rebuild (after a run ends), against
  reading the 1,000 metrics files;
- `missionctl exp verdict ID --json` as an agent runs it (a new process), with
  its verdict cached and recomputed (which imports scipy.special), against
  `python -c pass`. Target: <= 300 ms.

The runs are 20 real cpu-tiny runs (seeds 1..10, logit_softcap 15 and 0), trained
here once; the 1,000 are copies of their directories under new ids.

    python bench/ledger.py [--seeds 10] [--experiments 50] [--steps 20]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from missionctl.ledger import Ledger
from missionctl.ledger.board import BoardWatch
from missionctl.train.config import Budget, apply_overrides, preset
from missionctl.train.runs import metrics
from missionctl.workspace import Workspace
from missionctl.workspace_cli import init

ARMS = {"baseline": 15, "nocap": 0}


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-C",
         str(root), *args],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip


def _train_runs(root: Path, seeds: int, steps: int) -> None:
    from missionctl.train.trainer import RunRequest, train

    os.environ["MISSIONCTL_WORKSPACE"] = str(root)
    os.chdir(root)
    for arm, cap in ARMS.items():
        config, _ = apply_overrides(preset("cpu-tiny").config(), [f"logit_softcap={cap}"])
        for seed in range(1, seeds + 1):
            request = RunRequest(
                preset="cpu-tiny", config=config, budget=Budget.parse(f"steps={steps}"),
                init_seed=seed, data_seed=seed, threads=1, run_id=f"{arm}-{seed}",
            )  # fmt: skip
            result = train(request, out=io.StringIO())
            assert result.status == "ok", result.error


def _spec(exp_id: str, seeds: int, steps: int) -> dict[str, object]:
    return {
        "id": exp_id, "question": "bench", "test": "noninferiority", "margin": 0.01,
        "seeds": list(range(1, seeds + 1)), "preset": "cpu-tiny", "budget": f"steps={steps}",
        "arms": {arm: {"set": {"logit_softcap": cap}} for arm, cap in ARMS.items()},
    }  # fmt: skip


def _direct(runs: Path, ids: list[str]) -> dict[str, float | None]:
    """The baseline: read each metrics file whole, take the end event's final val_bpb."""
    out: dict[str, float | None] = {}
    for run_id in ids:
        events = metrics.read_events(runs / run_id / "metrics.jsonl")
        end = next((e for e in reversed(events) if isinstance(e, metrics.EndEvent)), None)
        out[run_id] = end.final_val_bpb if end else None
    return out


def _direct_pairs(runs: Path, prefix: str, seeds: int) -> float:
    values = _direct(runs, [f"{prefix}{arm}-{s}" for arm in ARMS for s in range(1, seeds + 1)])
    diffs = [
        (values[f"{prefix}nocap-{s}"] or 0.0) - (values[f"{prefix}baseline-{s}"] or 0.0)
        for s in range(1, seeds + 1)
    ]
    return statistics.fmean(diffs)


def _ms(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _p(values: list[float], q: int) -> float:
    return sorted(values)[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def _forget(ledger: Ledger, facts: bool) -> None:
    ledger.db.execute("DELETE FROM verdicts")
    if facts:
        ledger.db.execute("DELETE FROM run_facts")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--experiments", type=int, default=50)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mc-bench-ledger-")) / "lab"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    init(root)
    _git(root, "add", "org")
    _git(root, "commit", "-q", "-m", "org")
    t0 = time.perf_counter()
    _train_runs(root, args.seeds, args.steps)
    took = time.perf_counter() - t0
    print(f"trained {2 * args.seeds} cpu-tiny runs of {args.steps} steps in {took:.0f} s")
    runs = root / ".missionctl" / "runs"
    ids = [f"{arm}-{s}" for arm in ARMS for s in range(1, args.seeds + 1)]
    ledger = Ledger.open(root)
    ledger.register(_spec("softcap", args.seeds, args.steps))
    for arm in ARMS:
        ledger.attach("softcap", arm, [f"{arm}-{s}" for s in range(1, args.seeds + 1)])
    for e in range(args.experiments - 1):
        prefix = f"e{e}-"
        for run_id in ids:
            shutil.copytree(runs / run_id, runs / f"{prefix}{run_id}")
        ledger.register(_spec(f"e{e}", args.seeds, args.steps))
        for arm in ARMS:
            ledger.attach(f"e{e}", arm, [f"{prefix}{arm}-{s}" for s in range(1, args.seeds + 1)])
    n_runs = 2 * args.seeds * args.experiments
    _forget(ledger, facts=True)

    print(f"\nverdict of 2 arms x {args.seeds} seeds, in-process (ms, median of {args.repeat}):")
    start = time.perf_counter()
    first = ledger.verdict("softcap")
    took = (time.perf_counter() - start) * 1000
    print(f"  first verdict in this process (imports scipy.special): {took:7.1f}")
    direct = _ms(lambda: _direct_pairs(runs, "", args.seeds), args.repeat)
    cold = _ms(lambda: (_forget(ledger, facts=True), ledger.verdict("softcap")), args.repeat)
    warm = _ms(lambda: ledger.verdict("softcap"), args.repeat)
    d, c, w = statistics.median(direct), statistics.median(cold), statistics.median(warm)
    print(f"  read the 20 metrics files, pair by hand (baseline): {d:7.2f}")
    print(
        f"  ledger, nothing cached (reads the runs, decides):   {c:7.2f}  ({c / d:.2f}x baseline)"
    )
    print(
        f"  ledger, cached:                                     {w:7.2f}  ({w / d:.2f}x baseline)"
    )
    print(f"  decision: {first.decision}")

    print(f"\nexp list over {n_runs} runs ({args.experiments} experiments), in-process (ms):")
    all_ids = [p.name for p in runs.iterdir() if not p.name.startswith(".")]
    direct_list = _ms(lambda: _direct(runs, all_ids), max(3, args.repeat // 5))
    cold_list = _ms(
        lambda: (_forget(ledger, facts=True), ledger.summaries()), max(3, args.repeat // 5)
    )
    warm_list = _ms(lambda: ledger.summaries(), args.repeat)
    d, c, w = (
        statistics.median(direct_list),
        statistics.median(cold_list),
        statistics.median(warm_list),
    )
    print(f"  read the {len(all_ids)} metrics files (baseline): {d:8.1f}")
    print(f"  ledger, nothing cached:              {c:8.1f}  ({c / d:.2f}x baseline)")
    print(f"  ledger, cached:                      {w:8.1f}  ({w / d:.2f}x baseline)")

    print(f"\nthe app's ledger board over {n_runs} runs, in-process (ms):")
    watch = BoardWatch(Workspace(root))
    watch.poll()
    idle = _ms(watch.poll, args.repeat)
    rebuild = _ms(lambda: (setattr(watch, "_last", None), watch.poll()), max(3, args.repeat // 5))
    i, r = statistics.median(idle), statistics.median(rebuild)
    print(f"  a poll, nothing changed:             {i:8.3f}  ({i / d:.4f}x baseline)")
    print(f"  a rebuild (a run ended):             {r:8.1f}  ({r / d:.2f}x baseline)")

    print(f"\n`missionctl exp verdict softcap --json`, a new process (ms, {args.repeat} runs):")
    script = shutil.which("missionctl") or str(Path(sys.executable).with_name("missionctl"))
    env = {**os.environ, "MISSIONCTL_WORKSPACE": str(root)}

    def cli() -> None:
        subprocess.run([script, "exp", "verdict", "softcap", "--json"], env=env, check=True,
                       capture_output=True, timeout=60)  # fmt: skip

    def bare() -> None:
        subprocess.run([sys.executable, "-c", "pass"], check=True, capture_output=True, timeout=60)

    ledger.verdict("softcap")
    base, cached, fresh = [], [], []
    for _ in range(args.repeat):  # interleaved, so drift on a shared machine hits all alike
        base += _ms(bare, 1)
        cached += _ms(cli, 1)
        _forget(ledger, facts=False)
        fresh += _ms(cli, 1)
    for label, values in (("python -c pass (floor)", base), ("verdict cached", cached),
                          ("verdict recomputed", fresh)):  # fmt: skip
        print(f"  {label:<24} p50 {statistics.median(values):6.1f}  p90 {_p(values, 90):6.1f}")
    worst = _p(fresh, 50)
    print(f"  target p50 <= 300 ms, recomputed: {'met' if worst <= 300 else 'NOT met'}"
          f" (cached: {'met' if statistics.median(cached) <= 300 else 'NOT met'})")  # fmt: skip
    ledger.close()
    shutil.rmtree(root.parent)


if __name__ == "__main__":
    main()
