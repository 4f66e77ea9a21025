"""`Ledger`: experiments, the runs attached to their arms, verdicts, progress and comparisons.

The one entry point for the CLI, the supervisor and the app:

    ledger = Ledger.open(workspace)
    ledger.register(raw_spec)                    # preregister (immutable once a run attaches)
    ledger.attach("softcap-off", "nocap", ["r1-20250101T000000-ab12"])
    verdict = ledger.verdict("softcap-off")      # Verdict; .to_json() is `--json`
    ledger.summaries()                           # every experiment, progress, BH across them
    ledger.compare(["run-a"], ["run-b"])         # why bare runs prove nothing

Files are read outside write transactions (which stay short); a finished run's
facts and each experiment's last verdict are cached in the database, keyed by
the size and mtime of the run files they came from.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from missionctl import proc
from missionctl.errors import UserError
from missionctl.ledger import facts as run_facts
from missionctl.ledger import rules, spec, store
from missionctl.ledger.facts import FINISHED, RunFacts
from missionctl.ledger.rules import run_name
from missionctl.ledger.spec import ExperimentSpec
from missionctl.ledger.verdict import DECIDED, POSITIVE, Attached, Verdict, decide
from missionctl.names import ENV_AGENT
from missionctl.train.runs.record import check_run_id
from missionctl.workspace import Workspace

if TYPE_CHECKING:
    from missionctl.ledger.claims import ClaimAnswer, ClaimRequest
    from missionctl.ledger.compare import Comparison

DEFAULT_FDR = 0.05


class Experiment(msgspec.Struct, kw_only=True, frozen=True):
    """A registered experiment: its preregistration, who made it and when."""

    spec: ExperimentSpec
    owner: str
    created: float
    supersedes: str | None = None

    @property
    def id(self) -> str:
        return self.spec.id


class ExperimentSummary(msgspec.Struct, kw_only=True, frozen=True):
    """One line of `missionctl exp list`: progress and decision."""

    id: str
    question: str
    owner: str
    created: float
    test: str
    metric: str
    decision: str
    runs_done: int
    runs_declared: int
    p: float | None  # the experiment's p-value (its best treatment's, after Holm)
    p_bh: float | None  # after Benjamini-Hochberg across the org's decided experiments
    survives_fdr: bool | None  # a positive decision that BH keeps; None when not positive
    supersedes: str | None = None


class Ledger:
    """The experiment ledger of one workspace (`.missionctl/ledger.sqlite`)."""

    def __init__(self, db: sqlite3.Connection, runs_dir: Path, root: Path) -> None:
        self.db = db
        self.runs_dir = runs_dir
        self.root = root

    @classmethod
    def open(cls, ws: Workspace | Path) -> Ledger:
        """The ledger of workspace `ws` (created on first use)."""
        workspace = ws if isinstance(ws, Workspace) else Workspace(Path(ws))
        return cls(store.connect(workspace.ledger_path), workspace.runs_dir, workspace.root)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- experiments ------------------------------------------------------------

    def parse(self, raw: Mapping[str, Any]) -> ExperimentSpec:
        """Validate a raw experiment table (from a file or flags) without registering it."""
        return spec.parse(raw, self._resolve_ref)

    def register(
        self,
        raw: Mapping[str, Any] | ExperimentSpec,
        *,
        owner: str | None = None,
        replace: bool = False,
    ) -> Experiment:
        """Preregister an experiment; `replace` rewrites one that has no runs attached yet.

        A `UserError` (and nothing written) for an invalid spec, a duplicate id, an
        unknown `supersedes`, or a replacement of an experiment that has runs.
        """
        checked = raw if isinstance(raw, ExperimentSpec) else self.parse(raw)
        who = owner or os.environ.get(ENV_AGENT) or "human"
        with store.write(self.db):
            row = self.db.execute(
                "SELECT 1 FROM experiments WHERE id = ?", (checked.id,)
            ).fetchone()
            if row and not replace:
                raise UserError(
                    f"experiment {checked.id!r} already exists; choose another id (a change to"
                    " an experiment is a new one, with supersedes = the old id)"
                )
            if row:
                runs = self._attachment_count(checked.id)
                if runs:
                    raise UserError(
                        f"experiment {checked.id!r} has {runs} run{'s' if runs > 1 else ''}"
                        " attached and cannot change; register a new experiment with"
                        f' supersedes = "{checked.id}"'
                    )
            if checked.supersedes is not None:
                if checked.supersedes == checked.id:
                    raise UserError(f"experiment {checked.id!r} cannot supersede itself")
                if not self.db.execute(
                    "SELECT 1 FROM experiments WHERE id = ?", (checked.supersedes,)
                ).fetchone():
                    raise UserError(
                        f"supersedes: there is no experiment {checked.supersedes!r};"
                        " `missionctl exp list` shows them"
                    )
            created = time.time()
            self.db.execute(
                "INSERT OR REPLACE INTO experiments (id, created, owner, supersedes, spec,"
                " spec_hash) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    checked.id,
                    created,
                    who,
                    checked.supersedes,
                    spec.encode(checked).decode(),
                    checked.spec_hash(),
                ),
            )
            self.db.execute("DELETE FROM verdicts WHERE experiment = ?", (checked.id,))
        return Experiment(spec=checked, owner=who, created=created, supersedes=checked.supersedes)

    def experiment(self, exp_id: str) -> Experiment:
        """The experiment called `exp_id`; a `UserError` naming the way to list them."""
        row = self.db.execute(
            "SELECT spec, owner, created, supersedes FROM experiments WHERE id = ?", (exp_id,)
        ).fetchone()
        if row is None:
            raise UserError(
                f"unknown experiment {exp_id!r}; `missionctl exp list` shows the experiments"
            )
        return Experiment(spec=spec.decode(row[0]), owner=row[1], created=row[2], supersedes=row[3])

    def experiments(self) -> list[Experiment]:
        """Every experiment, oldest first."""
        rows = self.db.execute(
            "SELECT spec, owner, created, supersedes FROM experiments ORDER BY created, id"
        ).fetchall()
        return [
            Experiment(spec=spec.decode(r[0]), owner=r[1], created=r[2], supersedes=r[3])
            for r in rows
        ]

    def _attachment_count(self, exp_id: str) -> int:
        row = self.db.execute(
            "SELECT COUNT(*) FROM attachments WHERE experiment = ?", (exp_id,)
        ).fetchone()
        return int(row[0])

    def _resolve_ref(self, ref: str) -> str:
        if ref.startswith("-"):
            raise UserError(f"ref {ref!r} is not a git ref; name a branch, tag or commit")
        # An agent names refs from its own worktree (its HEAD, its branch), which shares
        # the workspace's repository; anywhere else, the workspace's checkout.
        here = Path.cwd().resolve()
        where = here if here.is_relative_to(self.root.resolve()) else self.root
        result = proc.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            cwd=where,
            timeout=10,
            check=False,
        )
        if result.returncode != 0:
            raise UserError(
                f"ref {ref!r} is not a commit in {where}; commit the change and name its"
                " branch, tag or commit"
            )
        return result.stdout.strip()

    # -- runs -------------------------------------------------------------------

    def run_facts(self, run_ids: Iterable[str]) -> dict[str, RunFacts]:
        """The facts of each run, from the cache when its files have not changed."""
        ids = list(dict.fromkeys(run_ids))
        cached: dict[str, tuple[str, bytes]] = {}
        for chunk in range(0, len(ids), 500):
            part = ids[chunk : chunk + 500]
            marks = ",".join("?" * len(part))
            for run_id, sig, blob in self.db.execute(
                f"SELECT run_id, signature, facts FROM run_facts WHERE run_id IN ({marks})", part
            ):
                cached[run_id] = (sig, blob)
        found, fresh, _ = self._facts_from(ids, cached)
        self._cache_facts(fresh)
        return found

    def _facts_from(
        self, ids: Sequence[str], cached: Mapping[str, tuple[str, bytes]]
    ) -> tuple[dict[str, RunFacts], list[tuple[str, str, bytes]], dict[str, str]]:
        """(facts by run, cache rows to write, the signature each was read at)."""
        found: dict[str, RunFacts] = {}
        fresh: list[tuple[str, str, bytes]] = []
        signatures: dict[str, str] = {}
        root = str(self.runs_dir)
        for run_id in ids:
            path = f"{root}/{run_id}"
            sig = run_facts.signature(path)
            signatures[run_id] = sig or "-"
            if sig is None:
                found[run_id] = run_facts.missing(run_id)
                continue
            hit = cached.get(run_id)
            if hit is not None and hit[0] == sig:
                found[run_id] = run_facts.decode(hit[1])
                continue
            facts = run_facts.read_facts(Path(path))
            found[run_id] = facts
            if facts.status in FINISHED:
                fresh.append((run_id, sig, run_facts.encode(facts)))
        return found, fresh, signatures

    def _cache_facts(self, fresh: Sequence[tuple[str, str, bytes]]) -> None:
        if not fresh:
            return
        with store.write(self.db):
            self.db.executemany(
                "INSERT OR REPLACE INTO run_facts (run_id, signature, facts) VALUES (?, ?, ?)",
                fresh,
            )

    def _attached(self, exp_id: str) -> list[tuple[str, int, str, float]]:
        rows = self.db.execute(
            "SELECT arm, seed, run_id, attached FROM attachments WHERE experiment = ?"
            " ORDER BY attached, run_id",
            (exp_id,),
        ).fetchall()
        return [(r[0], int(r[1]), r[2], float(r[3])) for r in rows]

    def attachments(self, exp_id: str) -> list[Attached]:
        """The runs attached to `exp_id`, each with its facts."""
        self.experiment(exp_id)
        rows = self._attached(exp_id)
        found = self.run_facts(r[2] for r in rows)
        return [
            Attached(arm, seed, run_id, when, found[run_id]) for arm, seed, run_id, when in rows
        ]

    def refusals(
        self, exp: ExperimentSpec, arm: str, run: RunFacts, existing: Sequence[Attached]
    ) -> list[str]:
        """Why `run` may not join `arm` (empty when it may): the checks before training."""
        if arm not in exp.arms:
            return [f"experiment {exp.id!r} has no arm {arm!r}; its arms are {', '.join(exp.arms)}"]
        if run.init_seed is None:
            return [f"seeds: {run_name(run)} has no seed; experiment runs are paired by seed"]
        reasons = rules.against_arm(exp, arm, run.init_seed, run)
        for other in existing:
            if other.run_id == run.run_id:
                reasons.append(
                    f"{run_name(run)} is already attached to experiment {exp.id} (arm {other.arm})"
                )
            elif (other.arm, other.seed) == (arm, run.init_seed):
                if other.facts.complete:
                    reasons.append(
                        f"seeds: arm {arm} seed {run.init_seed} already has complete run"
                        f" {other.run_id}; the first complete run counts, so another would be"
                        " cherry-picking"
                    )
                elif other.facts.live:
                    reasons.append(
                        f"seeds: arm {arm} seed {run.init_seed} is being run now by"
                        f" {other.run_id}; wait for it"
                    )
        if exp.arms[arm].commit is None:
            peers = sorted(
                (o for o in existing if exp.arms.get(o.arm) and exp.arms[o.arm].commit is None
                 and o.facts.status != "missing" and o.run_id != run.run_id),
                key=lambda o: (o.attached, o.run_id),
            )  # fmt: skip
            if peers:
                reasons += rules.code_against(peers[0].facts, run)
        return list(dict.fromkeys(reasons))

    def _neighbours(
        self, exp: ExperimentSpec, arm: str, runs: Sequence[RunFacts]
    ) -> list[Attached]:
        """The attached runs a new run of `arm` is checked against: the same runs, the same
        (arm, seed), and the first run of an arm without a ref (whose code all share).

        Not every attached run: an experiment of hundreds of runs attaches in constant time.
        """
        ids = [r.run_id for r in runs]
        seeds = [r.init_seed for r in runs if r.init_seed is not None]
        marks_ids, marks_seeds = ",".join("?" * len(ids)), ",".join("?" * len(seeds))
        rows = self.db.execute(
            "SELECT arm, seed, run_id, attached FROM attachments WHERE experiment = ? AND"
            f" (run_id IN ({marks_ids}) OR (arm = ? AND seed IN ({marks_seeds})))",
            (exp.id, *ids, arm, *seeds),
        ).fetchall()
        refless = [name for name, a in exp.arms.items() if a.commit is None]
        marks_arms = ",".join("?" * len(refless))
        rows += self.db.execute(
            "SELECT arm, seed, run_id, attached FROM attachments WHERE experiment = ? AND"
            f" arm IN ({marks_arms}) ORDER BY attached, run_id LIMIT 1",
            (exp.id, *refless),
        ).fetchall()
        unique = {r[2]: (r[0], int(r[1]), r[2], float(r[3])) for r in rows}
        cached = self._cached_facts(set(unique), everything=False)
        found, _, _ = self._facts_from(list(unique), cached)
        return [Attached(a, s, r, t, found[r]) for a, s, r, t in unique.values()]

    def check(self, exp_id: str, arm: str, run: RunFacts) -> None:
        """Raise `UserError` with the first reason `run` may not join `arm` of `exp_id`."""
        exp = self.experiment(exp_id).spec
        neighbours = self._neighbours(exp, arm, [run]) if arm in exp.arms else []
        _refuse(self.refusals(exp, arm, run, neighbours))

    def attach(
        self, exp_id: str, arm: str, run_ids: Sequence[str], *, via: str = "attach",
        planned: Mapping[str, RunFacts] | None = None,
    ) -> list[Attached]:  # fmt: skip
        """Attach runs to `arm`, all or none: every run passes the checks a run makes
        before it trains, or a `UserError` names the first problem and nothing is attached.

        `planned` gives the facts of runs that have not started yet (their directory is
        reserved): the trainer attaches a run before it trains.
        """
        exp = self.experiment(exp_id).spec
        for run_id in run_ids:
            check_run_id(run_id)
        given = dict(planned or {})
        unknown = [
            r for r in run_ids if r not in given and run_facts.signature(self.runs_dir / r) is None
        ]
        if unknown:
            raise UserError(
                f"no run {unknown[0]!r} in {self.runs_dir}; `missionctl runs` lists the runs"
            )
        found = {**self.run_facts(r for r in run_ids if r not in given), **given}
        runs = [found[r] for r in run_ids]
        with store.write(self.db):
            existing = self._neighbours(exp, arm, runs) if arm in exp.arms else []
            added: list[Attached] = []
            now = time.time()
            for run in runs:
                _refuse(self.refusals(exp, arm, run, existing + added))
                assert run.init_seed is not None
                added.append(Attached(arm, run.init_seed, run.run_id, now, run))
            self.db.executemany(
                "INSERT INTO attachments (experiment, arm, seed, run_id, attached, via)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(exp_id, a.arm, a.seed, a.run_id, a.attached, via) for a in added],
            )
        return added

    # -- verdicts ---------------------------------------------------------------

    def verdict(self, exp_id: str) -> Verdict:
        """The experiment's verdict now (recomputed only when its runs changed)."""
        experiment = self.experiment(exp_id)
        return self._verdicts([experiment])[exp_id]

    def _verdicts(self, experiments: Sequence[Experiment]) -> dict[str, Verdict]:
        ids = [e.id for e in experiments]
        if not ids:
            return {}
        with store.read(self.db):
            attachments: dict[str, list[tuple[str, int, str, float]]] = {i: [] for i in ids}
            if len(ids) == 1:
                attachments[ids[0]] = self._attached(ids[0])
            else:
                for exp_id, arm, seed, run_id, when in self.db.execute(
                    "SELECT experiment, arm, seed, run_id, attached FROM attachments"
                    " ORDER BY attached, run_id"
                ):
                    if exp_id in attachments:
                        attachments[exp_id].append((arm, int(seed), run_id, float(when)))
            wanted = {r[2] for rows in attachments.values() for r in rows}
            cached = self._cached_facts(wanted, everything=len(ids) > 1)
            stored = self._stored_verdicts(ids)
        found, fresh, signatures = self._facts_from(sorted(wanted), cached)
        verdicts: dict[str, Verdict] = {}
        new_rows: list[tuple[str, str, bytes, float]] = []
        for experiment in experiments:
            rows = attachments[experiment.id]
            attached = [Attached(a, s, r, t, found[r]) for a, s, r, t in rows]
            sig = _verdict_signature(experiment.spec, attached, signatures)
            hit = stored.get(experiment.id)
            if hit is not None and hit[0] == sig:
                verdicts[experiment.id] = _decode_verdict(hit[1])
                continue
            verdict = decide(experiment.spec, attached)
            verdicts[experiment.id] = verdict
            new_rows.append((experiment.id, sig, _encode_verdict(verdict), time.time()))
        if fresh or new_rows:
            with store.write(self.db):
                self.db.executemany(
                    "INSERT OR REPLACE INTO run_facts (run_id, signature, facts) VALUES (?, ?, ?)",
                    fresh,
                )
                self.db.executemany(
                    "INSERT OR REPLACE INTO verdicts (experiment, signature, verdict, computed)"
                    " VALUES (?, ?, ?, ?)",
                    new_rows,
                )
        return verdicts

    def _cached_facts(self, wanted: set[str], everything: bool) -> dict[str, tuple[str, bytes]]:
        if everything:
            rows = self.db.execute("SELECT run_id, signature, facts FROM run_facts")
            return {r[0]: (r[1], r[2]) for r in rows if r[0] in wanted}
        ids = list(wanted)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT run_id, signature, facts FROM run_facts WHERE run_id IN ({marks})", ids
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    def _stored_verdicts(self, ids: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        if len(ids) == 1:
            rows = self.db.execute(
                "SELECT experiment, signature, verdict FROM verdicts WHERE experiment = ?",
                (ids[0],),
            )
        else:
            rows = self.db.execute("SELECT experiment, signature, verdict FROM verdicts")
        return {r[0]: (r[1], r[2]) for r in rows}

    def summaries(self, fdr: float = DEFAULT_FDR) -> list[ExperimentSummary]:
        """Every experiment with its progress and decision; positive decisions are marked
        by whether they survive Benjamini-Hochberg at `fdr` across the org's decided ones."""
        from missionctl.ledger.stats import benjamini_hochberg

        experiments = self.experiments()
        verdicts = self._verdicts(experiments)
        decided = [
            e.id
            for e in experiments
            if verdicts[e.id].decision in DECIDED and verdicts[e.id].p_value is not None
        ]
        ps = [verdicts[i].p_value or 0.0 for i in decided]
        adjusted = dict(zip(decided, benjamini_hochberg(ps), strict=True))
        out = []
        for e in experiments:
            v = verdicts[e.id]
            q = adjusted.get(e.id)
            out.append(
                ExperimentSummary(
                    id=e.id,
                    question=e.spec.question,
                    owner=e.owner,
                    created=e.created,
                    test=e.spec.test,
                    metric=e.spec.metric,
                    decision=v.decision,
                    runs_done=v.runs_done,
                    runs_declared=v.runs_declared,
                    p=v.p_value,
                    p_bh=q,
                    survives_fdr=(q is not None and q < fdr) if v.decision in POSITIVE else None,
                    supersedes=e.supersedes,
                )
            )
        return out

    def plan(self, exp_id: str) -> list[str]:
        """The exact commands still to run, one per missing (arm, seed)."""
        exp = self.experiment(exp_id).spec
        verdict = self.verdict(exp_id)
        commands = []
        for m in verdict.missing:
            if m.why == "running":
                continue
            line = shlex.join(exp.plan_argv(m.arm, m.seed))
            commit = exp.arms[m.arm].commit
            if commit is not None:
                line = f"git switch --detach {commit} && {line}"
            commands.append(line)
        return commands

    # -- comparisons and export -------------------------------------------------

    def compare(
        self, baseline: Sequence[str], treatment: Sequence[str], metric: str = "val_bpb"
    ) -> Comparison:
        """An ad-hoc comparison of bare runs: what differs, and why no conclusion follows."""
        from missionctl.ledger.compare import compare_runs

        for run_id in (*baseline, *treatment):
            check_run_id(run_id)
            if run_facts.signature(self.runs_dir / run_id) is None:
                raise UserError(
                    f"no run {run_id!r} in {self.runs_dir}; `missionctl runs` lists them"
                )
        found = self.run_facts([*baseline, *treatment])
        experiments: dict[str, list[str]] = {}
        ids = [*baseline, *treatment]
        marks = ",".join("?" * len(ids))
        for exp_id, run_id in self.db.execute(
            f"SELECT experiment, run_id FROM attachments WHERE run_id IN ({marks})", ids
        ):
            experiments.setdefault(run_id, []).append(exp_id)
        return compare_runs(
            [found[r] for r in baseline], [found[r] for r in treatment], metric, experiments
        )

    # -- claims -----------------------------------------------------------------

    def answer_claim(self, claim: ClaimRequest, now: float | None = None) -> ClaimAnswer:
        """The ledger's answer to `claim`, recorded with it; a claim already answered gets
        the answer it got then (the supervisor may see a claim twice, never answer twice)."""
        from missionctl.ledger.claims import judge

        known = self.claim(claim.id)
        if known is not None:
            return known
        answer = judge(self, claim, time.time() if now is None else now)
        with store.write(self.db):
            self.db.execute(
                "INSERT OR IGNORE INTO claims (id, claimant, sent, answered, experiment, runs,"
                " decision, accepted, answer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    claim.id,
                    claim.claimant,
                    claim.sent,
                    answer.answered,
                    claim.experiment,
                    msgspec.json.encode(claim.runs).decode(),
                    answer.decision,
                    int(answer.accepted),
                    msgspec.json.encode(answer),
                ),
            )
        return self.claim(claim.id) or answer

    def claim(self, claim_id: str) -> ClaimAnswer | None:
        """The recorded answer to the claim with mail id `claim_id`, if it was answered."""
        row = self.db.execute("SELECT answer FROM claims WHERE id = ?", (claim_id,)).fetchone()
        return None if row is None else _decode_claim(row[0])

    def claims(self, since: float | None = None) -> list[ClaimAnswer]:
        """Every answered claim (answered after `since`, when given), oldest first."""
        rows = self.db.execute(
            "SELECT answer FROM claims WHERE answered > ? ORDER BY answered, id",
            (float("-inf") if since is None else since,),
        ).fetchall()
        return [_decode_claim(r[0]) for r in rows]

    def export(self) -> dict[str, Any]:
        """Experiments, arms, attached runs and verdicts, as plain data."""
        experiments = self.experiments()
        verdicts = self._verdicts(experiments)
        out = []
        for e in experiments:
            v = verdicts[e.id]
            used = set(v.used_runs)
            runs = [
                {
                    "arm": a.arm,
                    "seed": a.seed,
                    "run_id": a.run_id,
                    "attached": a.attached,
                    "status": a.facts.status,
                    "value": a.facts.value(e.spec.metric),
                    "used": a.run_id in used,
                    "git_commit": a.facts.git_commit,
                    "budget_spent": a.facts.spent(e.spec.parsed_budget.kind),
                }
                for a in self.attachments(e.id)
            ]
            out.append(
                {
                    "id": e.id,
                    "owner": e.owner,
                    "created": e.created,
                    "spec": msgspec.to_builtins(e.spec),
                    "runs": runs,
                    "verdict": v.to_json(),
                }
            )
        return {"experiments": out}


def _refuse(reasons: Sequence[str]) -> None:
    if reasons:
        more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
        raise UserError(f"{reasons[0]}{more}; nothing was attached")


def _verdict_signature(
    exp: ExperimentSpec, attached: Sequence[Attached], signatures: Mapping[str, str]
) -> str:
    """What a verdict was computed from: the spec, and each attached run's files and status."""
    digest = hashlib.sha256(exp.spec_hash().encode())
    for a in attached:
        sig = signatures.get(a.run_id, "-")
        digest.update(f"|{a.arm}|{a.seed}|{a.run_id}|{a.attached}|{sig}|{a.facts.status}".encode())
    return digest.hexdigest()


_VERDICT_DECODER = msgspec.json.Decoder(Verdict)


def _encode_verdict(verdict: Verdict) -> bytes:
    return msgspec.json.encode(verdict)


def _decode_verdict(data: bytes) -> Verdict:
    return _VERDICT_DECODER.decode(data)


def _decode_claim(data: bytes) -> ClaimAnswer:
    from missionctl.ledger.claims import ClaimAnswer

    return msgspec.json.decode(data, type=ClaimAnswer)
