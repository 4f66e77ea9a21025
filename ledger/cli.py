"""`missionctl exp` and `missionctl ledger`: preregister experiments, attach runs, read verdicts.

missionctl exp new --file EXP.toml | --id ID --question Q ... --arm baseline K=V --arm B K=V
missionctl exp list [--json]          # progress, decision, and which survive BH
missionctl exp show ID [--json]       # the preregistration, per-seed table, verdict
missionctl exp plan ID                # the commands still to run
missionctl exp verdict ID [--json]
missionctl exp attach ID --arm A RUN...
missionctl ledger compare RUN... --vs RUN... [--json]
missionctl ledger export --csv|--json [--out FILE]
missionctl ledger claims [--json]     # every claim the supervisor answered, with its answer
missionctl progress [--metric M] [--axis hours|compute] [--out FILE.png] [--json]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

from missionctl import workspace
from missionctl.cliargs import parser
from missionctl.errors import UserError
from missionctl.ledger import spec as spec_module
from missionctl.ledger.ledger import Ledger
from missionctl.ledger.verdict import Verdict
from missionctl.textable import format_table


def _ledger() -> Ledger:
    return Ledger.open(workspace.find())


def _num(value: float | None, digits: int = 4) -> str | None:
    return None if value is None else f"{value:+.{digits}g}"


def _seeds(text: str) -> list[int]:
    try:
        return [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise UserError(
            f"--seeds {text!r} is not a list of whole numbers; e.g. --seeds 1,2,3"
        ) from None


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"{flag} {item!r} is not KEY=VALUE; e.g. {flag} logit_softcap=0")
        out[key.strip()] = value.strip()
    return out


def _raw_from_flags(args: argparse.Namespace) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for key in ("id", "question", "metric", "goal", "test", "margin", "min_effect", "alpha",
                "preset", "command", "budget", "supersedes"):  # fmt: skip
        value = getattr(args, key)
        if value is not None:
            raw[key] = value
    if args.seeds is not None:
        raw["seeds"] = _seeds(args.seeds)
    arms: dict[str, dict[str, Any]] = {}
    for group in args.arm or []:
        name, *sets = group
        if name in arms:
            raise UserError(
                f"--arm {name} is given twice; give each arm once with all its KEY=VALUE"
            )
        arms[name] = {"set": _pairs(sets, f"--arm {name}")}
    for item in args.ref or []:
        arm, sep, ref = item.partition("=")
        if not sep or arm not in arms:
            raise UserError(
                f"--ref {item!r} is not ARM=REF for a declared --arm; e.g. --ref fast=HEAD"
            )
        arms[arm]["ref"] = ref
    if arms:
        raw["arms"] = arms
    if args.knob:
        raw["knobs"] = list(args.knob)
    if args.set:
        raw["set"] = _pairs(args.set, "--set")
    return raw


def _new(args: argparse.Namespace) -> int:
    flags = {k: v for k, v in vars(args).items() if k not in ("verb", "file", "replace", "json")}
    if args.file is not None:
        if any(v not in (None, []) for v in flags.values()):
            raise UserError("give the experiment in --file or in flags, not both")
        raw = spec_module.load_file(args.file)
    else:
        raw = _raw_from_flags(args)
        for required in ("id", "question", "test", "seeds", "budget", "arms"):
            if required not in raw:
                flag = "--arm NAME KEY=VALUE" if required == "arms" else f"--{required}"
                raise UserError(f"exp new needs {flag} (or --file EXP.toml)")
    with _ledger() as ledger:
        experiment = ledger.register(raw, replace=args.replace)
        plan = ledger.plan(experiment.id)
    exp = experiment.spec
    print(
        f"registered experiment {exp.id}: {exp.test} on {exp.metric} ({exp.goal} is better),"
        f" {len(exp.arms)} arms x {len(exp.seeds)} seeds, budget {exp.budget}"
    )
    print(f"knobs: {', '.join(exp.declared_knobs) or 'none'}; run these ({len(plan)}):")
    for line in plan:
        print(f"  {line}")
    return 0


def _print_verdict(verdict: Verdict) -> None:
    print(f"{verdict.experiment}: {verdict.decision}")
    rows = []
    for arm in verdict.arms.values():
        ci = None if arm.ci is None else f"[{arm.ci[0]:+.4g}, {arm.ci[1]:+.4g}]"
        rows.append(
            [arm.arm, arm.decision, arm.n, _num(arm.mean_diff), ci,
             None if arm.p is None else f"{arm.p:.3g}",
             None if arm.p_holm is None else f"{arm.p_holm:.3g}", arm.seeds_needed]
        )  # fmt: skip
    if rows:
        level = f"{next(iter(verdict.arms.values())).ci_level:.0%} ci"
        headers = ["arm", "decision", "n", "mean diff", level, "p", "p holm", "seeds needed"]
        print(format_table(headers, rows))
    for reason in verdict.reasons:
        print(f"- {reason}")


def _show(ledger: Ledger, exp_id: str, as_json: bool) -> int:
    experiment = ledger.experiment(exp_id)
    verdict = ledger.verdict(exp_id)
    exp = experiment.spec
    if as_json:
        import msgspec

        print(
            json.dumps(
                {
                    "experiment": msgspec.to_builtins(exp),
                    "owner": experiment.owner,
                    "created": experiment.created,
                    "runs": [
                        {
                            "arm": a.arm,
                            "seed": a.seed,
                            "run_id": a.run_id,
                            "status": a.facts.status,
                            "value": a.facts.value(exp.metric),
                        }
                        for a in ledger.attachments(exp_id)
                    ],
                    "verdict": verdict.to_json(),
                },
                indent=2,
            )
        )
        return 0
    bound = f"margin {exp.margin:g}" if exp.margin is not None else f"min effect {exp.min_effect:g}"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(experiment.created))
    print(f"{exp.id}: {exp.question}")
    print(f"  owner {experiment.owner}, registered {when}" + (
        f", supersedes {exp.supersedes}" if exp.supersedes else ""))  # fmt: skip
    print(
        f"  {exp.test} on {exp.metric} ({exp.goal} is better), {bound}, alpha {exp.alpha:g};"
        f" seeds {', '.join(str(s) for s in exp.seeds)}"
    )
    runner = f"preset {exp.preset}" if exp.preset else f"command {exp.command}"
    print(f"  {runner}, budget {exp.budget}, knobs {', '.join(exp.declared_knobs) or 'none'}")
    for name, arm in exp.arms.items():
        sets = " ".join(f"{k}={spec_module.format_value(v)}" for k, v in arm.overrides.items())
        ref = f" at {arm.ref} ({arm.commit[:10]})" if arm.ref and arm.commit else ""
        print(f"  arm {name}: {sets or '(the preset as it is)'}{ref}")
    print()
    rows = [
        [r.seed, r.arm, r.baseline_run, _plain(r.baseline_value, r.baseline_status), r.run,
         _plain(r.value, r.status), _num(r.diff)]
        for r in verdict.pairs
    ]  # fmt: skip
    print(
        format_table(["seed", "arm", "baseline run", "baseline", "run", exp.metric, "diff"], rows)
    )
    print()
    _print_verdict(verdict)
    return 0


def _plain(value: float | None, status: str) -> str:
    if value is not None:
        return f"{value:.4f}"
    return status


def _list(ledger: Ledger, as_json: bool, fdr: float) -> int:
    summaries = ledger.summaries(fdr)
    if as_json:
        import msgspec

        print(json.dumps(msgspec.to_builtins(summaries), indent=2))
        return 0
    rows = []
    for s in summaries:
        mark = {True: "yes", False: "no", None: None}[s.survives_fdr]
        rows.append(
            [s.id, s.owner, s.test, f"{s.runs_done}/{s.runs_declared}", s.decision,
             None if s.p is None else f"{s.p:.3g}", mark, s.question]
        )  # fmt: skip
    print(format_table(["experiment", "owner", "test", "runs", "decision", "p", f"fdr {fdr:g}",
                        "question"], rows))  # fmt: skip
    return 0


def exp_main(argv: list[str]) -> int:
    """`missionctl exp ...`."""
    ap = parser("exp", "Preregistered experiments: register, plan, attach runs, read verdicts.")
    verbs = ap.add_subparsers(dest="verb", metavar="VERB", required=True)
    new = verbs.add_parser("new", help="preregister an experiment (from --file EXP.toml or flags)")
    new.add_argument("--file", type=Path, help="the experiment as TOML (see the README)")
    new.add_argument("--replace", action="store_true", help="rewrite one with no runs attached yet")
    new.add_argument("--id", help="a slug: a-z, 0-9, '.', '_', '-'")
    new.add_argument("--question", help="what the experiment asks")
    new.add_argument("--metric", help="the runs' metric (default val_bpb)")
    new.add_argument(
        "--goal", choices=("lower", "higher"), help="which way is better (default lower)"
    )
    new.add_argument("--test", choices=("superiority", "noninferiority"))
    new.add_argument("--margin", type=float, help="non-inferiority margin (> 0)")
    new.add_argument("--min-effect", type=float, help="superiority's minimum effect (> 0)")
    new.add_argument("--alpha", type=float, help="one-sided error rate (default 0.05)")
    new.add_argument("--seeds", help="comma-separated seeds, at least 2: 1,2,3")
    new.add_argument("--preset", help="the trainer preset every run uses")
    new.add_argument("--command", help="or: the command `missionctl run` runs ({seed} is replaced)")
    new.add_argument("--budget", help="the trainer's --budget syntax: flops=3e12")
    new.add_argument(
        "--arm", nargs="+", action="append", metavar=("NAME", "KEY=VALUE"),
        help="an arm and its config overrides; repeat for each (one must be baseline)",
    )  # fmt: skip
    new.add_argument(
        "--ref", action="append", metavar="ARM=REF", help="an arm's git ref (code change)"
    )
    new.add_argument("--knob", action="append", help="a config key allowed to differ (repeatable)")
    new.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="overrides every arm shares"
    )
    new.add_argument("--supersedes", help="the experiment this one replaces")
    ls = verbs.add_parser("list", help="every experiment: progress, decision, FDR")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--fdr", type=float, default=0.05, help="Benjamini-Hochberg level (0.05)")
    for name, text in (("show", "the preregistration, per-seed table and verdict"),
                       ("verdict", "the decision, its statistics and every confound"),
                       ("plan", "the exact commands still to run")):  # fmt: skip
        sub = verbs.add_parser(name, help=text)
        sub.add_argument("id", metavar="ID")
        if name != "plan":
            sub.add_argument("--json", action="store_true")
    attach = verbs.add_parser("attach", help="attach runs made without --exp (same checks)")
    attach.add_argument("id", metavar="ID")
    attach.add_argument("--arm", required=True)
    attach.add_argument("runs", nargs="+", metavar="RUN")
    args = ap.parse_args(argv)

    if args.verb == "new":
        return _new(args)
    with _ledger() as ledger:
        if args.verb == "list":
            if not 0 < args.fdr < 1:
                raise UserError(f"--fdr {args.fdr:g} must be between 0 and 1")
            return _list(ledger, args.json, args.fdr)
        if args.verb == "show":
            return _show(ledger, args.id, args.json)
        if args.verb == "plan":
            for line in ledger.plan(args.id):
                print(line)
            return 0
        if args.verb == "attach":
            added = ledger.attach(args.id, args.arm, args.runs)
            seeds = ", ".join(f"{a.run_id} (seed {a.seed})" for a in added)
            print(f"attached to {args.id} arm {args.arm}: {seeds}")
            # Computed here (the statistics import costs ~0.25 s) so that the agents'
            # `exp verdict` calls answer from the cache.
            print(f"{args.id}: {ledger.verdict(args.id).decision}")
            return 0
        verdict = ledger.verdict(args.id)
    if args.json:
        print(json.dumps(verdict.to_json(), indent=2))
    else:
        _print_verdict(verdict)
    return 0


EXPORT_COLUMNS = (
    "experiment", "question", "owner", "test", "metric", "goal", "threshold", "alpha",
    "decision", "arm", "seed", "run_id", "status", "value", "used", "budget_spent", "git_commit",
    "arm_decision", "arm_n", "arm_mean_diff", "arm_ci_low", "arm_ci_high", "arm_p", "arm_p_holm",
    "arm_seeds_needed",
)  # fmt: skip


def export_csv(data: dict[str, Any]) -> str:
    """One row per attached run (one per experiment without runs), with its verdict."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for e in data["experiments"]:
        spec, verdict = e["spec"], e["verdict"]
        base = {
            "experiment": e["id"], "question": spec["question"], "owner": e["owner"],
            "test": spec["test"], "metric": spec["metric"], "goal": spec["goal"],
            "threshold": verdict["threshold"], "alpha": spec["alpha"],
            "decision": verdict["decision"],
        }  # fmt: skip
        for run in e["runs"] or [{}]:
            arm = verdict["arms"].get(run.get("arm"), {})
            ci = arm.get("ci") or [None, None]
            writer.writerow(
                {
                    **base,
                    **{
                        k: run.get(k)
                        for k in (
                            "arm",
                            "seed",
                            "run_id",
                            "status",
                            "value",
                            "used",
                            "budget_spent",
                            "git_commit",
                        )
                    },
                    "arm_decision": arm.get("decision"),
                    "arm_n": arm.get("n"),
                    "arm_mean_diff": arm.get("mean_diff"),
                    "arm_ci_low": ci[0],
                    "arm_ci_high": ci[1],
                    "arm_p": arm.get("p"),
                    "arm_p_holm": arm.get("p_holm"),
                    "arm_seeds_needed": arm.get("seeds_needed"),
                }
            )
    return out.getvalue()


def ledger_main(argv: list[str]) -> int:
    """`missionctl ledger ...`."""
    ap = parser("ledger", "The experiment ledger as a whole: export it, compare bare runs.")
    verbs = ap.add_subparsers(dest="verb", metavar="VERB", required=True)
    export = verbs.add_parser("export", help="experiments, arms, runs and verdicts")
    kind = export.add_mutually_exclusive_group(required=True)
    kind.add_argument("--csv", action="store_true", help="one row per attached run")
    kind.add_argument("--json", action="store_true", help="one object, nested")
    export.add_argument("--out", type=Path, help="write to this file (default: stdout)")
    compare = verbs.add_parser("compare", help="why bare runs settle nothing (claims)")
    compare.add_argument("baseline", nargs="+", metavar="RUN")
    compare.add_argument("--vs", nargs="+", required=True, metavar="RUN", help="the other side")
    compare.add_argument("--metric", default="val_bpb")
    compare.add_argument("--json", action="store_true")
    claims = verbs.add_parser("claims", help="the claims the supervisor answered, and how")
    claims.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with _ledger() as ledger:
        if args.verb == "claims":
            return _claims(ledger, args.json)
        if args.verb == "compare":
            result = ledger.compare(args.baseline, args.vs, args.metric)
            if args.json:
                print(json.dumps(result.to_json(), indent=2))
                return 0
            print(f"{', '.join(result.baseline_runs)} vs {', '.join(result.treatment_runs)}:")
            for d in result.config_differences:
                shown = [", ".join(spec_module.format_value(v) for v in side)
                         for side in (d.baseline, d.treatment)]  # fmt: skip
                print(f"  config {d.key}: {shown[0]} -> {shown[1]}")
            ratios = ", ".join(
                f"{axis} x{ratio:.3g}" for axis, ratio in result.budget_ratio.items() if ratio
            )
            print(f"  spent, treatment/baseline: {ratios or 'not reported'}")
            print(f"  seeds: {result.seeds['baseline']} vs {result.seeds['treatment']}")
            for reason in result.reasons:
                print(f"- {reason}")
            return 0
        data = ledger.export()
    text = json.dumps(data, indent=2) + "\n" if args.json else export_csv(data)
    if args.out is None:
        sys.stdout.write(text)
    else:
        partial = args.out.with_name(f".{args.out.name}.tmp")
        partial.write_text(text)
        partial.replace(args.out)
        print(f"wrote {args.out}")
    return 0


def _claims(ledger: Ledger, as_json: bool) -> int:
    answers = ledger.claims()
    if as_json:
        import msgspec

        print(json.dumps(msgspec.to_builtins(answers), indent=2))
        return 0
    rows = [
        [time.strftime("%m-%d %H:%M", time.localtime(a.answered)), a.claim.claimant,
         a.claim.experiment, ", ".join(a.claim.runs) or None,
         "accepted" if a.accepted else "refused", a.decision, a.claim.text]
        for a in answers
    ]  # fmt: skip
    print(format_table(["answered", "by", "experiment", "runs", "answer", "decision", "claim"],
                       rows))  # fmt: skip
    return 0


def progress_main(argv: list[str]) -> int:
    """`missionctl progress`: the org's progress curve, in the terminal and as a picture."""
    from missionctl.ledger import progress

    ap = parser(
        "progress",
        "The org's progress: the best metric backed by a decided verdict, against hours since"
        " the org started and against the compute every run spent, each step labelled by its"
        " experiment and the commit of org/ in force.",
    )
    ap.add_argument("--metric", default="val_bpb", help="the experiments' metric (val_bpb)")
    ap.add_argument("--axis", choices=progress.AXES, default="hours", help="the x axis drawn")
    ap.add_argument(
        "--out", type=Path, metavar="FILE", help="also draw it to FILE (.png, .svg or .pdf)"
    )
    ap.add_argument("--width", type=int, default=72, help="columns of the text chart")
    ap.add_argument("--json", action="store_true", help="print the points as JSON")
    args = ap.parse_args(argv)
    if not 30 <= args.width <= 400:
        raise UserError(f"--width {args.width} must be between 30 and 400")
    with _ledger() as ledger:
        data = progress.progress(ledger, args.metric)
    if args.json:
        import msgspec

        print(json.dumps(msgspec.to_builtins(data), indent=2))
    else:
        print("\n".join(progress.chart(data, args.axis, width=args.width)))
    if args.out is not None:
        if not data.points:
            raise UserError("no decided experiment yet: there is no curve to draw")
        progress.save_picture(data, args.out)
        print(f"wrote {args.out}")
    return 0
