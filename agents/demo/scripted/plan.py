"""What the scripted agents decide, as pure functions. The statistics are the ledger's.

The chief designs the softcap experiment from the research program: the
non-inferiority margin it fixes, and as many seeds as its noise table says
settle an interval of ± that margin on the preset (sized from the measured
spread of paired differences). It preregisters the experiment with `missionctl
exp new`, hands out what `missionctl exp plan` prints, and reports what
`missionctl exp verdict` says. Researchers run exactly the command in their
task. One researcher makes the classic mistake on its own: a bigger model,
twice the budget, one seed, then a claim that bigger is better; the ledger
refuses it.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

EXPERIMENT = "softcap-off"
QUESTION = "Can the logit softcap be removed without a regression?"
KNOB = "logit_softcap"
ARMS = {"baseline": "15", "nocap": "0"}
DEFAULT_MARGIN = 0.01
VERDICT_SUBJECT = f"{EXPERIMENT}: the verdict"
TRAIN_PREFIX = ["python", "-m", "missionctl.train"]
_ALLOWED_FLAGS = {"--preset", "--seed", "--set", "--budget", "--exp", "--arm"}
_RUN_LINE = re.compile(r"^run (\S+) (ok|crash|nan|timeout)\b.*?val_bpb=(\S+)")
# The classic mistake: wider than the presets' 128 (2 blocks of 64), trained on twice the budget.
BIG_WIDTH = 192
MISTAKE_CLAIM = (
    f"bigger hidden size lowers val_bpb: width {BIG_WIDTH} beats the {EXPERIMENT} baseline."
    " Bigger is better!"
)
_INTERVAL_COLUMN = re.compile(r"seeds for a ±([0-9.]+) interval")


@dataclass(frozen=True)
class Design:
    """The chief's experiment, with how its size was chosen."""

    preset: str
    budget: str
    seeds: tuple[int, ...]
    margin: float
    why: str  # one sentence: where the seeds, margin and budget came from

    def exp_new(self) -> list[str]:
        """The `missionctl exp new` command that preregisters it."""
        argv = ["missionctl", "exp", "new", "--id", EXPERIMENT, "--question", QUESTION,
                "--test", "noninferiority", "--margin", f"{self.margin:g}",
                "--seeds", ",".join(str(s) for s in self.seeds),
                "--preset", self.preset, "--budget", self.budget]  # fmt: skip
        for arm, value in ARMS.items():
            argv += ["--arm", arm, f"{KNOB}={value}"]
        return argv


def program_margin(program: str) -> float:
    """The non-inferiority margin the research program fixes (`margin = 0.01`)."""
    found = re.search(r"^\s*margin\s*=\s*([0-9]*\.?[0-9]+)", program, re.MULTILINE)
    return float(found.group(1)) if found else DEFAULT_MARGIN


def noise_row(program: str, preset: str) -> dict[str, str] | None:
    """The program's noise-table row for `preset`, by column title."""
    header: list[str] | None = None
    for line in program.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|") or len(cells) < 2:
            continue
        if cells[0] == "preset":
            header = cells
        elif header is not None and cells[0].strip("`") == preset and len(cells) == len(header):
            return dict(zip(header, cells, strict=True))
    return None


def design(program: str, preset: str, seeds: Sequence[int] = (), budget: str | None = None
           ) -> Design:  # fmt: skip
    """The experiment the chief preregisters.

    Seeds: given ones win (a shortened plan); else the program's noise table, the
    column that says how many seeds make the 90% interval ± the margin wide at the
    measured spread of paired differences: then a treatment no worse than the
    baseline comes out non-inferior, and one worse by twice the margin inferior.
    """
    margin = program_margin(program)
    row = noise_row(program, preset) or {}
    budget = budget or row.get("budget") or None
    if budget is None:
        raise ValueError(f"the program's noise table has no budget for preset {preset}")
    column = next((k for k in row if _INTERVAL_COLUMN.fullmatch(k)), None)
    if seeds:
        chosen = tuple(seeds)
        why = f"{len(chosen)} seeds as given (a shortened plan)"
    elif column is not None and row[column].isdigit():
        n = int(row[column])
        chosen = tuple(range(1, n + 1))
        sd = row.get("sd of the paired differences", "?")
        why = (
            f"{n} seeds: the program's noise table gives {n} for a ±{margin:g} interval on"
            f" {preset} (paired-difference sd {sd})"
        )
    else:
        chosen = (1, 2, 3)
        why = f"3 seeds: the program's noise table has no row for {preset}"
    why += f"; margin {margin:g} from org/program.md; budget {budget}"
    return Design(preset=preset, budget=budget, seeds=chosen, margin=margin, why=why)


def split_plan(commands: Sequence[str], researchers: Sequence[str]) -> list[tuple[str, str]]:
    """(researcher, command): round robin, in the plan's order."""
    return [(researchers[i % len(researchers)], c) for i, c in enumerate(commands)]


def task_subject(command: str) -> str:
    argv = shlex.split(command)
    arm = argv[argv.index("--arm") + 1] if "--arm" in argv else "?"
    seed = argv[argv.index("--seed") + 1] if "--seed" in argv else "?"
    return f"{EXPERIMENT}: arm {arm}, seed {seed}"


def task_body(command: str) -> str:
    return (
        f"Please run one run of experiment {EXPERIMENT} (preregistered; `missionctl exp show"
        f" {EXPERIMENT}`).\nThe trainer checks it against its arm before it trains.\n\n"
        f"Run exactly:\n  {command}\n\n"
        "Then reply to this message with --kind result, citing the run id (--run ID),\n"
        "its status and its final val_bpb."
    )


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


def doubled(budget: str) -> str:
    """`flops=1.5e11` -> `flops=3e+11`."""
    kind, _, amount = budget.partition("=")
    return f"{kind}={2 * float(amount):g}"


def mistake_argv(preset: str, budget: str) -> list[str]:
    """The classic mistake: a bigger model on twice the budget, one seed, no experiment."""
    return [*TRAIN_PREFIX, "--preset", preset, "--seed", "1", "--set", f"width={BIG_WIDTH}",
            "--budget", doubled(budget)]  # fmt: skip


def final_report(verdict_text: str, runs: Sequence[str], refused: Sequence[str],
                 problems: Sequence[str] = ()) -> str:  # fmt: skip
    """The chief's mail to the human: the ledger's verdict verbatim, the refused claims."""
    lines = [
        f"The ledger's verdict on {EXPERIMENT} (`missionctl exp verdict {EXPERIMENT}`):",
        "",
        *[f"  {ln}" for ln in verdict_text.rstrip().splitlines()],
        "",
    ]
    if refused:
        lines += ["Claims the ledger refused (not results):", *refused, ""]
    else:
        lines += ["No claim was refused.", ""]
    if problems:
        lines += ["Problems:", *[f"- {p}" for p in problems], ""]
    lines.append("runs: " + ", ".join(runs))
    return "\n".join(lines)
