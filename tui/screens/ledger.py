"""The ledger in the app: every experiment at a glance, one experiment in full, the org's
progress curve. Both screens show the app's latest `LedgerBoard` and take each new one as
it comes (`show`), so they update live as runs finish."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from missionctl.ledger.board import ExperimentCard, LedgerBoard
from missionctl.ledger.progress import AXES, chart
from missionctl.ledger.spec import format_value
from missionctl.ledger.verdict import NEGATIVE, POSITIVE, ArmVerdict

DECISION_STYLE = {
    "pending": "dim",
    "confounded": "bold red",
    "inconclusive": "yellow",
    **dict.fromkeys(POSITIVE, "bold green"),
    **dict.fromkeys(NEGATIVE, "bold magenta"),
}
EMPTY = (
    "No experiment yet. Preregister one with `missionctl exp new --file EXP.toml`;"
    " `missionctl exp plan ID` prints the runs it needs."
)


def decision_text(decision: str) -> Text:
    return Text(decision, style=DECISION_STYLE.get(decision, ""))


def interval_lines(arm: ArmVerdict, metric: str, width: int = 64) -> list[Text]:
    """One treatment's paired differences drawn against the threshold (margin or effect):

    nocap - baseline: mean -0.0032, 90% interval [-0.0093, +0.0030] (8 seeds)
            ├──────●──────┤   ┊0              │margin +0.01
    """
    head = Text(f"{arm.arm} - baseline ({metric}): ", style="bold")
    if arm.ci is None or arm.mean_diff is None:
        head.append(f"{arm.decision}: fewer than 2 usable pairs, no interval")
        return [head]
    low, high = arm.ci
    head.append(
        f"mean {arm.mean_diff:+.4f}, {arm.ci_level:.0%} interval [{low:+.4f}, {high:+.4f}]"
        f" over {arm.n} seeds → "
    )
    head.append_text(decision_text(arm.decision))
    left = min(low, 0.0, arm.threshold)
    right = max(high, 0.0, arm.threshold)
    span = (right - left) or 1.0
    left, right = left - 0.08 * span, right + 0.08 * span
    cols = max(20, width)

    def at(x: float) -> int:
        return min(cols - 1, max(0, round((x - left) / (right - left) * (cols - 1))))

    line = [" "] * cols
    lo, hi = at(low), at(high)
    for c in range(lo, hi + 1):
        line[c] = "─"
    line[lo], line[hi] = "├", "┤"
    line[at(0.0)] = "┊"
    line[at(arm.threshold)] = "│"
    line[at(arm.mean_diff)] = "●"
    labels = [" "] * (cols + 16)
    for x, word in ((0.0, "0"), (arm.threshold, f"{arm.threshold:+g}")):
        c = at(x)
        labels[c : c + len(word)] = word
    drawn = Text("".join(line), style="cyan")
    drawn.stylize("bold red", at(arm.threshold), at(arm.threshold) + 1)
    return [head, drawn, Text("".join(labels).rstrip(), style="dim")]


class LedgerScreen(Screen[None]):
    """Every experiment: owner, arms, progress, decision, confounds; the progress curve."""

    BINDINGS = [
        Binding("enter", "open", "Open"),
        Binding("a", "axis", "Hours/compute"),
        Binding("escape,q,l", "close", "Back"),
    ]

    def __init__(self, board: LedgerBoard | None) -> None:
        super().__init__()
        self.board = board
        self.axis = AXES[0]

    def compose(self) -> ComposeResult:
        yield Static("", id="ledger-title")
        yield DataTable(id="experiments", cursor_type="row", zebra_stripes=True)
        yield Static("", id="ledger-empty")
        with VerticalScroll(id="ledger-lower"):
            yield Static("", id="claims")
            yield Static("", id="progress")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#experiments", DataTable)
        table.add_columns("experiment", "owner", "arms", "runs", "decision", "confounds / question")
        self.show(self.board)

    def show(self, board: LedgerBoard | None) -> None:
        """Show `board` (a newer one replaces what is shown; the cursor stays on its row)."""
        self.board = board
        table = self.query_one("#experiments", DataTable)
        keep = self.selected
        table.clear()
        rows = board.rows if board else []
        for row in rows:
            detail = "; ".join(row.confounds[:2]) if row.confounds else row.question
            table.add_row(
                row.id,
                row.owner,
                ", ".join(row.arms),
                f"{row.runs_done}/{row.runs_declared}",
                decision_text(row.decision),
                Text(detail, overflow="ellipsis", no_wrap=True),
                key=row.id,
            )
        if keep is not None and any(r.id == keep for r in rows):
            table.move_cursor(row=table.get_row_index(keep))
        decided = sum(r.decision in POSITIVE + NEGATIVE for r in rows)
        refused = sum(not c.accepted for c in board.claims) if board else 0
        self.query_one("#ledger-title", Static).update(
            Text.assemble(
                ("Ledger", "bold"),
                f" · {len(rows)} experiment{'s' if len(rows) != 1 else ''} · {decided} decided"
                f" · {refused} claim{'s' if refused != 1 else ''} refused"
                "   (Enter: one experiment, a: hours/compute, Esc: back)",
            )
        )
        empty = self.query_one("#ledger-empty", Static)
        empty.display = not rows
        empty.update(EMPTY)
        self.query_one("#claims", Static).update(_claims(board))
        self._draw_progress()

    def _draw_progress(self) -> None:
        curve = self.board.progress if self.board else None
        width = max(40, self.size.width - 4)
        lines = chart(curve, self.axis, width=width, height=10) if curve is not None else []
        self.query_one("#progress", Static).update(Text("\n".join(lines)))

    @property
    def selected(self) -> str | None:
        table = self.query_one("#experiments", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(key.value) if key.value is not None else None

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        exp_id = self.selected
        if exp_id is not None and self.board is not None:
            self.app.push_screen(ExperimentScreen(exp_id, self.board))

    def action_axis(self) -> None:
        self.axis = AXES[(AXES.index(self.axis) + 1) % len(AXES)]
        self._draw_progress()

    def action_close(self) -> None:
        self.dismiss(None)


class ExperimentScreen(Screen[None]):
    """One experiment: its preregistration, the per-seed table, the paired differences drawn
    against the margin, and every reason of its verdict."""

    BINDINGS = [Binding("escape,q", "close", "Back")]

    def __init__(self, exp_id: str, board: LedgerBoard) -> None:
        super().__init__()
        self.exp_id = exp_id
        self.board = board

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="experiment"):
            yield Static("", id="prereg")
            yield DataTable(id="pairs", zebra_stripes=True)
            yield Static("", id="intervals")
            yield Static("", id="reasons")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#pairs", DataTable).add_columns(
            "seed", "arm", "baseline run", "baseline", "run", "value", "diff"
        )
        self.show(self.board)

    def show(self, board: LedgerBoard) -> None:
        self.board = board
        card = board.cards.get(self.exp_id)
        if card is None:
            self.query_one("#prereg", Static).update(f"experiment {self.exp_id} is gone")
            return
        self.query_one("#prereg", Static).update(_prereg(card))
        verdict = card.verdict
        table = self.query_one("#pairs", DataTable)
        table.clear()
        for p in verdict.pairs:
            table.add_row(
                str(p.seed), p.arm, p.baseline_run or "-",
                _value(p.baseline_value, p.baseline_status), p.run or "-",
                _value(p.value, p.status), "" if p.diff is None else f"{p.diff:+.4f}",
            )  # fmt: skip
        width = max(30, self.size.width - 6)
        drawn: list[Text] = []
        for arm in verdict.arms.values():
            drawn += [*interval_lines(arm, verdict.metric, width), Text("")]
        self.query_one("#intervals", Static).update(Text("\n").join(drawn))
        reasons = Text()
        for reason in verdict.reasons:
            reasons.append(f"- {reason}\n")
        for m in verdict.missing:
            reasons.append(f"  missing: arm {m.arm} seed {m.seed} ({m.why})\n", style="dim")
        self.query_one("#reasons", Static).update(reasons)

    def action_close(self) -> None:
        self.dismiss(None)


def _claims(board: LedgerBoard | None, shown: int = 5) -> Text:
    """The latest claims and the ledger's answers (claims are agents' words: plain text)."""
    claims = board.claims[-shown:] if board else []
    text = Text("Claims", style="bold")
    if not claims:
        text.append(': none yet (`missionctl claim --exp ID "..."`)\n', style="dim")
        return text
    text.append(" (the ledger's answers; `missionctl ledger claims` has them all)\n")
    for answer in reversed(claims):
        claim = answer.claim
        text.append(f"  {claim.claimant}: ")
        text.append(repr(claim.text), style="italic")
        text.append(" → ")
        text.append("accepted" if answer.accepted else "refused", style="bold")
        text.append(" (")
        text.append_text(decision_text(answer.decision))
        text.append(")")
        keys = sorted({r.split(":", 1)[0] for r in answer.reasons if ":" in r} - {"prereg"})
        if keys and not answer.accepted:
            text.append(f": {', '.join(keys)}", style="dim")
        text.append("\n")
    return text


def _value(value: float | None, status: str) -> str:
    return f"{value:.4f}" if value is not None else status


def _prereg(card: ExperimentCard) -> Text:
    spec, verdict = card.spec, card.verdict
    bound = (
        f"margin {spec.margin:g}" if spec.margin is not None else f"min effect {spec.min_effect:g}"
    )
    runner = f"preset {spec.preset}" if spec.preset else f"command {spec.command}"
    text = Text.assemble((f"{spec.id}", "bold"), f": {spec.question}\n")
    text.append(
        f"owner {card.owner} · {spec.test} on {spec.metric} ({spec.goal} is better), {bound},"
        f" alpha {spec.alpha:g} · seeds {', '.join(str(s) for s in spec.seeds)} · {runner},"
        f" budget {spec.budget}\n"
    )
    for name, arm in spec.arms.items():
        sets = " ".join(f"{k}={format_value(v)}" for k, v in arm.overrides.items())
        text.append(f"  arm {name}: {sets or '(the preset as it is)'}\n")
    text.append("decision: ")
    text.append_text(decision_text(verdict.decision))
    text.append(f"   ({verdict.runs_done}/{verdict.runs_declared} declared runs done)\n")
    return text
