"""Each agent's newest run and its status, for noticing a run that crashed."""

from __future__ import annotations

import os
from pathlib import Path

from missionctl.train.runs.reader import read_config, read_run_events
from missionctl.workspace import Workspace

_FINAL = {"ok", "nan", "timeout", "crash"}


class RunWatch:
    """`poll()` -> {agent: (newest run id, status)}; a finished run is read once."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._owner: dict[str, tuple[str, float]] = {}
        self._final: dict[str, str] = {}

    def poll(self) -> dict[str, tuple[str, str]]:
        newest: dict[str, tuple[float, str]] = {}
        try:
            entries = [e for e in os.scandir(self.ws.runs_dir) if e.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return {}
        for entry in entries:
            if entry.name.startswith("."):
                continue
            owner = self._owner.get(entry.name)
            if owner is None:
                # Never a plain open: an agent can leave a FIFO where config.json goes.
                data = read_config(Path(entry.path))
                agent, created = data.get("agent"), data.get("created")
                if not isinstance(agent, str) or not isinstance(created, (int, float)):
                    continue  # being created: read on a later poll
                owner = self._owner[entry.name] = (agent, float(created))
            agent, created = owner
            if agent not in newest or created > newest[agent][0]:
                newest[agent] = (created, entry.name)
        out: dict[str, tuple[str, str]] = {}
        for agent, (_, run_id) in newest.items():
            status = self._final.get(run_id)
            if status is None:
                status = read_run_events(self.ws.runs_dir / run_id).status
                if status in _FINAL:
                    self._final[run_id] = status
            out[agent] = (run_id, status)
        return out
