"""What the scripted agents decide, as pure functions: tasks, results, the summary.

The chief designs one controlled comparison: a baseline arm (`logit_softcap=15`)
and a treatment arm (`logit_softcap=0`), the same preset and budget on both, the
same seeds on both, and one exact rerun of a baseline seed to show how much two
runs of the same thing differ. Researchers run exactly the command in their task.
"""

from __future__ import annotations

import math
import re
import shlex
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

BASELINE = "baseline"
TREATMENT = "treatment"
REPLICATE = "replicate"
KNOB = "logit_softcap"
ARM_VALUE = {BASELINE: "15", TREATMENT: "0", REPLICATE: "15"}
MARGIN_BPB = 0.01  # fixed in org/program.md before any run
VERDICT_SUBJECT = "softcap: the verdict"
TRAIN_PREFIX = ["python", "-m", "missionctl.train"]
_ALLOWED_FLAGS = {"--preset", "--seed", "--set", "--budget"}
# 97.5% quantiles of Student's t, by degrees of freedom: a 95% two-sided interval.
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228, 15: 2.131, 20: 2.086, 30: 2.042}  # fmt: skip
_RUN_LINE = re.compile(r"^run (\S+) (ok|crash|nan|timeout)\b.*?val_bpb=(\S+)")


@dataclass(frozen=True)
class Task:
    """One training run the chief asks one researcher to do."""

    to: str
    arm: str
    seed: int
    preset: str
    budget: str | None = None

    def argv(self) -> list[str]:
        argv = [*TRAIN_PREFIX, "--preset", self.preset, "--seed", str(self.seed)]
        argv += ["--set", f"{KNOB}={ARM_VALUE[self.arm]}"]
        if self.budget:
            argv += ["--budget", self.budget]
        return argv

    @property
    def subject(self) -> str:
        return f"{self.arm} run, seed {self.seed}"

    def body(self) -> str:
        why = {
            BASELINE: "the baseline arm: the model as it is",
            TREATMENT: f"the treatment arm: the only change is {KNOB}=0",
            REPLICATE: "an exact rerun of a baseline seed: how far apart are two identical runs?",
        }[self.arm]
        return (
            f"Please run {why}.\n"
            f"Same preset, budget and seeds on every arm, so the comparison is controlled.\n\n"
            f"Run exactly:\n  {shlex.join(self.argv())}\n\n"
            "Then reply to this message with --kind result, citing the run id (--run ID),\n"
            "its status and its final val_bpb."
        )


def assign(
    researchers: Sequence[str], preset: str, seeds: Sequence[int], budget: str | None
) -> list[Task]:
    """Baseline seeds first, then the treatment seeds, then one replicate; round robin."""
    runs = [(BASELINE, s) for s in seeds] + [(TREATMENT, s) for s in seeds]
    runs.append((REPLICATE, seeds[0]))
    return [
        Task(researchers[i % len(researchers)], arm, seed, preset, budget)
        for i, (arm, seed) in enumerate(runs)
    ]


def parse_task(body: str) -> list[str] | None:
    """The training command in a task's body, if it is one this agent may run.

    Mail is untrusted: only `python -m missionctl.train` with the known flags is
    accepted, and it is run without a shell.
    """
    for line in body.splitlines():
        line = line.strip()
        if not line.startswith(" ".join(TRAIN_PREFIX)):
            continue
        try:
            argv = shlex.split(line)
        except ValueError:
            return None
        if argv[:3] != TRAIN_PREFIX:
            return None
        rest = argv[3:]
        if len(rest) % 2 or any(flag not in _ALLOWED_FLAGS for flag in rest[::2]):
            return None
        if any(value.startswith("-") or ";" in value for value in rest[1::2]):
            return None
        return argv
    return None


def parse_run_line(line: str) -> tuple[str, str, float | None] | None:
    """(run id, status, final val_bpb) from the trainer's last line."""
    m = _RUN_LINE.match(line.strip())
    if not m:
        return None
    try:
        bpb: float | None = float(m.group(3))
    except ValueError:
        bpb = None
    if bpb is not None and math.isnan(bpb):
        bpb = None
    return m.group(1), m.group(2), bpb


@dataclass(frozen=True)
class Result:
    """A researcher's reported run, after the chief checked it against the run files."""

    arm: str
    seed: int
    run_id: str
    val_bpb: float
    by: str


def _t975(df: int) -> float:
    """The t quantile for `df`, rounded down to a tabled df (a slightly wider interval)."""
    return _T975[max(k for k in _T975 if k <= df)]


def summary(results: Sequence[Result], problems: Sequence[str] = ()) -> str:
    """The chief's report to the human: per-seed numbers, the paired difference, a decision."""
    base = {r.seed: r for r in results if r.arm == BASELINE}
    treat = {r.seed: r for r in results if r.arm == TREATMENT}
    seeds = sorted(set(base) & set(treat))
    lines = [
        f"Question: does {KNOB}=0 raise val_bpb by more than {MARGIN_BPB} at matched compute?",
        "",
        "seed  baseline (softcap 15)   treatment (softcap 0)   delta",
    ]
    deltas = []
    for seed in seeds:
        b, t = base[seed], treat[seed]
        delta = t.val_bpb - b.val_bpb
        deltas.append(delta)
        lines.append(
            f"{seed:>4}  {b.val_bpb:.4f} ({b.run_id})  {t.val_bpb:.4f} ({t.run_id})  {delta:+.4f}"
        )
    lines.append("")
    if len(deltas) >= 2:
        mean = statistics.fmean(deltas)
        half = _t975(len(deltas) - 1) * statistics.stdev(deltas) / math.sqrt(len(deltas))
        low, high = mean - half, mean + half
        if high < MARGIN_BPB:
            decision = f"NON-INFERIOR: the whole interval is below the +{MARGIN_BPB} margin"
        elif low > MARGIN_BPB:
            decision = f"WORSE: the whole interval is above the +{MARGIN_BPB} margin"
        else:
            decision = "INCONCLUSIVE: the interval straddles the margin; run more seeds"
        lines += [
            f"mean paired delta {mean:+.4f} bpb, 95% CI [{low:+.4f}, {high:+.4f}] over"
            f" {len(deltas)} seeds (t, {len(deltas) - 1} df)",
            f"decision against the margin fixed in advance: {decision}",
        ]
    else:
        lines.append(f"only {len(deltas)} paired seed(s): no interval, no decision; run more seeds")
    replicates = [r for r in results if r.arm == REPLICATE]
    for rep in replicates:
        if rep.seed in base:
            gap = rep.val_bpb - base[rep.seed].val_bpb
            lines.append(
                f"noise check: baseline seed {rep.seed} rerun ({rep.run_id}) differs by {gap:+.4f}"
            )
    if problems:
        lines += ["", "problems:", *[f"- {p}" for p in problems]]
    order = {BASELINE: 0, TREATMENT: 1, REPLICATE: 2}
    ordered = sorted(results, key=lambda r: (order[r.arm], r.seed))
    lines += ["", "runs: " + ", ".join(r.run_id for r in ordered)]
    return "\n".join(lines)
