"""What the app shows beside each terminal: state, the current run, machine use, mail.

`OrgMonitor.poll()` builds an `OrgSnapshot` from files and a few cheap calls
(one `tmux list-panes`, the state files, the tail of each agent's newest metrics
file, a listdir per mailbox, psutil or NVML); the app calls it about once a
second from a worker thread. Nothing here imports textual.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from missionctl.agents.org.hub import Hub
from missionctl.agents.state.store import AgentState
from missionctl.agents.tmux.server import PaneInfo
from missionctl.ledger.spend import PriceTable, Spend, SpendReader, budget_warning, prices_for
from missionctl.mailbox import HUMAN, Mailbox
from missionctl.proc import CommandError
from missionctl.train.runs.reader import MetricsTail, NewestRuns, RunProgress
from missionctl.units import size

TREE_EVERY_S = 3.0  # how often the process table is walked for machine use


@dataclass(frozen=True)
class Usage:
    """Machine use by one agent: its GPU when it has one (NVML), else its process tree."""

    cpu_percent: float | None = None
    mem_bytes: int | None = None
    gpu_util: float | None = None
    gpu_mem_bytes: int | None = None

    def text(self) -> str:
        """One line: "GPU 87% 12.3G" or "CPU 140% 2.1G"; empty when nothing was measured."""
        if self.gpu_util is not None:
            return f"GPU {self.gpu_util:.0f}% {size(self.gpu_mem_bytes)}"
        if self.cpu_percent is not None:
            return f"CPU {self.cpu_percent:.0f}% {size(self.mem_bytes)}"
        return ""


@dataclass(frozen=True)
class AgentView:
    """One agent at a glance."""

    name: str
    role: str
    provider: str
    gpu: int | None
    state: AgentState
    window_id: str | None = None
    run: RunProgress | None = None
    # The experiment and arm the shown run was started for (`--exp ID --arm A`), if any.
    experiment: str | None = None
    arm: str | None = None
    unread: int = 0
    usage: Usage = field(default_factory=Usage)
    # Tokens and cost of its model (None: a provider without one, e.g. a shell).
    spend: Spend | None = None
    budget_warning: str | None = None  # its spend has reached a budget in org.toml


@dataclass(frozen=True)
class OrgSnapshot:
    """The whole org at one moment."""

    org: str
    structure: str
    running: bool
    agents: tuple[AgentView, ...]
    human_unread: int = 0
    taken_at: float = 0.0

    def agent(self, name: str) -> AgentView | None:
        return next((a for a in self.agents if a.name == name), None)


class _Nvml:
    """GPU utilisation and memory per index, when NVML and a GPU are there."""

    def __init__(self) -> None:
        self.ok = False
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml: Any = pynvml
            self.ok = True
        except Exception:  # no library, no driver, no GPU: the CPU view is used instead
            self._nvml = None

    def read(self, index: int) -> tuple[float, int] | None:
        if not self.ok:
            return None
        try:
            handle = self._nvml.nvmlDeviceGetHandleByIndex(index)
            util = self._nvml.nvmlDeviceGetUtilizationRates(handle)
            mem = self._nvml.nvmlDeviceGetMemoryInfo(handle)
            return float(util.gpu), int(mem.used)
        except Exception:
            return None


class OrgMonitor:
    """Builds snapshots of one workspace's org, keeping per-agent readers between polls."""

    def __init__(self, hub: Hub, mailbox: Mailbox | None = None) -> None:
        self.hub = hub
        self.box = mailbox or Mailbox.for_workspace(hub.ws)
        self._tails: dict[str, MetricsTail] = {}
        self._runs = NewestRuns(hub.ws.runs_dir)
        self._nvml: _Nvml | None = None
        self._reader = hub.reader()
        self._spend_readers: dict[str, SpendReader] = {}
        self._prices: dict[str, PriceTable] = {}
        self._tree: dict[int, list[psutil.Process]] = {}
        self._tree_at = -math.inf

    # -- runs ------------------------------------------------------------------------------
    def _run(self, agent: str, path: Path | None) -> RunProgress | None:
        if path is None:
            return None
        tail = self._tails.get(agent)
        if tail is None or tail.path.parent != path:
            tail = self._tails[agent] = MetricsTail(path / "metrics.jsonl")
        return tail.poll()

    # -- model spend ------------------------------------------------------------------------
    def _spend(self, name: str, provider: str) -> Spend | None:
        if provider not in ("claude", "codex", "anthropic", "openai"):
            return None
        reader = self._spend_readers.get(name)
        if reader is None or reader.provider != provider:
            reader = self._spend_readers[name] = SpendReader(self.hub.ws.runtime, name, provider)
        if provider not in self._prices:
            self._prices[provider] = prices_for(self.hub.org, provider)
        return reader.spend(self._prices[provider])

    # -- machine use ------------------------------------------------------------------------
    def _usage(
        self, gpu: int | None, pane: PaneInfo | None, children: dict[int, list[psutil.Process]]
    ) -> Usage:
        if gpu is not None:
            if self._nvml is None:
                self._nvml = _Nvml()
            reading = self._nvml.read(gpu)
            if reading is not None:
                return Usage(gpu_util=reading[0], gpu_mem_bytes=reading[1])
        if pane is None or pane.dead:
            return Usage()
        cpu, mem = 0.0, 0
        todo = [pane.pid]
        while todo:
            for proc in children.get(todo.pop(), []):
                todo.append(proc.pid)
                try:
                    cpu += proc.cpu_percent(None)  # since this object's last call
                    mem += proc.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
        return Usage(cpu_percent=cpu, mem_bytes=mem)

    def _process_tree(self, now: float) -> dict[int, list[psutil.Process]]:
        """Processes by parent pid, from one walk of the process table every
        TREE_EVERY_S (the walk is most of a poll's cost, and grows with the machine's
        processes); psutil keeps the Process objects, so cpu_percent measures since
        the last poll. A run started meanwhile shows within TREE_EVERY_S."""
        if now - self._tree_at >= TREE_EVERY_S or now < self._tree_at:
            children: dict[int, list[psutil.Process]] = {}
            for proc in psutil.process_iter(["ppid"]):
                children.setdefault(proc.info["ppid"], []).append(proc)
            self._tree, self._tree_at = children, now
        return self._tree

    def _panes(self) -> dict[str, PaneInfo]:
        """The hub's panes by window name; empty when the hub is not running (one tmux call)."""
        if not self.hub.tmux.socket_path().exists():
            return {}
        try:
            return {p.window: p for p in self.hub.tmux.panes()}
        except CommandError:
            return {}

    # -- the snapshot -----------------------------------------------------------------------
    def poll(
        self, now: float | None = None, usage_for: Collection[str] | None = None
    ) -> OrgSnapshot:
        """The org now. Machine use is read for the agents in `usage_for` only (None:
        all): the app shows it for the agents on screen, and with 32 agents reading
        every process tree each second was most of what the idle app cost."""
        now = time.time() if now is None else now
        hub = self.hub
        panes = self._panes()
        running = bool(panes)
        runs = self._runs.poll()
        children = self._process_tree(now) if usage_for is None or usage_for else {}
        states = self._reader.read(hub.org.names, panes, running, now)
        views = []
        for spec in hub.org.agents:
            pane = panes.get(spec.name)
            state = states[spec.name]
            spend = self._spend(spec.name, spec.provider)
            run_dir = runs.get(spec.name)
            purpose = self._runs.owners[run_dir.name][2] if run_dir is not None else None
            views.append(
                AgentView(
                    name=spec.name,
                    role=spec.role,
                    provider=spec.provider,
                    gpu=spec.gpu,
                    state=state,
                    window_id=pane.window_id if pane else None,
                    run=self._run(spec.name, run_dir),
                    experiment=purpose[0] if purpose else None,
                    arm=purpose[1] if purpose else None,
                    unread=self.box.unread_count(spec.name),
                    usage=(
                        self._usage(spec.gpu, pane, children)
                        if usage_for is None or spec.name in usage_for
                        else Usage()
                    ),
                    spend=spend,
                    budget_warning=budget_warning(spend, spec.budget_usd, spec.budget_tokens)
                    if spend is not None
                    else None,
                )
            )
        return OrgSnapshot(
            org=hub.org.name,
            structure=hub.org.structure,
            running=running,
            agents=tuple(views),
            human_unread=self.box.unread_count(HUMAN),
            taken_at=now,
        )
