"""Each agent's newest run and its status, for noticing a run that crashed."""

from __future__ import annotations

from missionctl.train.runs.reader import MetricsTail, NewestRuns
from missionctl.workspace import Workspace


class RunWatch:
    """`poll()` -> {agent: (newest run id, status)}; each run's metrics are tailed, so
    a poll reads only what was added since the last one."""

    def __init__(self, ws: Workspace) -> None:
        self._runs = NewestRuns(ws.runs_dir)
        self._tails: dict[str, MetricsTail] = {}

    def poll(self) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        for agent, run_dir in self._runs.poll().items():
            tail = self._tails.get(agent)
            if tail is None or tail.path.parent != run_dir:
                tail = self._tails[agent] = MetricsTail(run_dir / "metrics.jsonl")
            out[agent] = (run_dir.name, tail.poll().status)
        return out
