"""The line under an agent's terminal: its current run, its machine use, its mail."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from missionctl.agents.org.monitor import AgentView
from missionctl.train.runs.reader import RunProgress
from missionctl.units import duration, si

_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: tuple[float, ...] | list[float], width: int = 8) -> str:
    """The last `width` values as block characters, scaled to their own range."""
    tail = list(values)[-width:]
    if not tail:
        return ""
    low, high = min(tail), max(tail)
    span = high - low or 1.0
    return "".join(_BLOCKS[min(7, int((v - low) / span * 7.999))] for v in tail)


def run_text(
    run: RunProgress | None, experiment: str | None = None, arm: str | None = None
) -> Text:
    """`run …9f2a softcap-off/nocap 120/400 30% ETA 1m35s bpb 2.45 ▁▃▅▇ 2.31 12.3k tok/s`.

    Most useful first: a narrow cell cuts the end of the line. The experiment and
    arm the run was started for come right after its id. A run on Slurm then says
    where its job is: `run …9f2a job 42 pending (Priority)`, then `job 42 on node7`.
    """
    text = Text()
    if run is None or run.run_id is None:
        text.append("no run yet", style="dim")
        return text
    text.append(f"run …{run.run_id[-4:]} ", style="bold")
    if experiment is not None:
        text.append(f"{experiment}/{arm} ", style="magenta")
    job = run.job
    if job is not None and run.status in ("queued", "running"):
        if job.state == "RUNNING" and not job.paused and run.step:
            text.append(f"job {job.job_id} on {job.node} ", style="dim")
        else:
            text.append(f"{job.describe()} ", style="yellow")
            if not run.step:
                return text  # nothing trained yet: where the job is, is the news
    if run.status != "running":
        text.append(f"{run.status} ", style="bold")
    total = f"/{run.total_steps}" if run.total_steps else ""
    text.append(f"{run.step}{total} {run.fraction:.0%}")
    if run.status == "running":
        text.append(f" ETA {duration(run.eta_s)}")
    if run.last_val_bpb is not None:
        text.append(f" bpb {run.last_val_bpb:.3f}", style="bold")
    if run.losses:
        text.append(" ")
        text.append(sparkline(run.losses), style="cyan")
        text.append(f" {run.losses[-1]:.2f}")
    text.append(f" {si(run.tok_s)} tok/s")
    if run.mfu is not None:
        text.append(f" MFU {run.mfu:.0%}")
    return text


def spend_text(view: AgentView) -> Text:
    """`41.2k tok $0.42`: what the agent's model use has cost (red past a budget)."""
    spend = view.spend
    if spend is None:
        return Text("")
    style = "bold red" if view.budget_warning else ""
    return Text(f"{si(spend.tokens.total)} tok {spend.cost_text}", style=style)


class MetricsStrip(Static):
    """One line: the run's progress, the model's tokens and cost, then the machine use."""

    _shown: Text | None = None

    def show(self, view: AgentView | None) -> None:
        line = Text("")
        if view is not None:
            line = run_text(view.run, view.experiment, view.arm)
            if view.spend is not None:
                line.append("  ")
                line.append_text(spend_text(view))
            line.append("  ")
            line.append(view.usage.text())
        if line == self._shown:
            return
        self._shown = line
        self.update(line, layout=False)  # one fixed row: no layout pass
