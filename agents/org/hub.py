"""The tmux hub: one server per workspace that owns the agents.

Session `hub`: window 0 runs the supervisor, then one window per agent, named
after it, running the wrapper in the agent's worktree. tmux owns the processes,
so the org keeps running when the app quits or crashes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from missionctl import workspace as workspace_mod
from missionctl.agents.process import tree as proctree
from missionctl.agents.providers import LaunchContext, Provider, provider_for
from missionctl.agents.providers.base import missionctl_argv
from missionctl.agents.state.reader import StateReader
from missionctl.agents.state.store import (
    DOWN,
    UNKNOWN,
    AgentState,
    StateStore,
    exited,
)
from missionctl.agents.tmux.server import (
    CONFIG,
    DEFAULT_SIZE,
    SESSION,
    SUPERVISOR_WINDOW,
    PaneInfo,
    Tmux,
    check_tmux,
)
from missionctl.errors import UserError
from missionctl.files import open_private, write_private
from missionctl.orgfile import AgentSpec, OrgSpec
from missionctl.train.slurm import org as slurm_jobs
from missionctl.units import plural
from missionctl.workspace import Workspace
from missionctl.worktrees import AgentWorktrees


@dataclass(frozen=True)
class AgentStatus:
    """One agent as `missionctl status` shows it."""

    name: str
    role: str
    provider: str
    gpu: int | None
    branch: str
    state: AgentState
    pid: int | None
    uptime_s: float | None
    window: str | None


class Hub:
    """The workspace's tmux hub and the agents in it."""

    def __init__(self, ws: Workspace, org: OrgSpec | None = None) -> None:
        self.ws = ws
        self.org = org or ws.load_org()
        self.tmux = Tmux(ws.socket_name, ws.tmux_conf)
        self.states = StateStore(ws.state_dir)

    @classmethod
    def find(cls) -> Hub:
        return cls(workspace_mod.find())

    # -- lifecycle --------------------------------------------------------------
    def is_up(self) -> bool:
        return self.tmux.has_session(SESSION)

    def _write_config(self) -> None:
        self.ws.private_dir()
        write_private(
            self.ws.tmux_conf, CONFIG.format(width=DEFAULT_SIZE[0], height=DEFAULT_SIZE[1])
        )

    @contextlib.contextmanager
    def _up_lock(self, timeout: float = 120.0) -> Iterator[None]:
        """Held for the whole of `up`: two at once once made duplicate agent windows."""
        fd = open_private(self.ws.private_dir() / "up.lock", os.O_RDWR | os.O_CREAT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise UserError(
                            f"another `missionctl up` has been starting this org for {timeout:.0f}"
                            " s; wait for it, or stop it"
                        ) from None
                    time.sleep(0.05)  # the other `up` reports when done; then this one sees it
            yield
        finally:
            os.close(fd)  # releases the lock

    # -- what a dead hub left ----------------------------------------------------------
    def leftovers(self) -> list[psutil.Process]:
        """This workspace's wrappers and supervisor that no live pane of the hub owns: the
        hub died (its tmux server was killed) and they, or their agents, live on."""
        owned = {p.pid for p in self.tmux.panes()} if self.is_up() else set()
        return [p for p in proctree.hub_processes(str(self.ws.root)) if p.pid not in owned]

    def end_leftovers(self, grace: float = 5.0) -> list[str]:
        """End what the last hub left running (whole trees); return whose they were."""
        left = self.leftovers()
        if not left:
            return []
        names = [proctree.hub_process_name(p) for p in left]
        proctree.terminate_many([p.pid for p in left], grace=grace)
        return names

    def _provider(self, spec: AgentSpec) -> Provider:
        return provider_for(spec.provider, self.org.provider_settings(spec.provider))

    def _context(self, spec: AgentSpec) -> LaunchContext:
        return LaunchContext(self.ws, self.org, spec, self.ws.worktree(spec.name))

    def _env_args(self, spec: AgentSpec | None) -> list[str]:
        env = {workspace_mod.ENV_WORKSPACE: str(self.ws.root)}
        if spec is not None:
            env[workspace_mod.ENV_AGENT] = spec.name
        args: list[str] = []
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        return args

    def _wrapper_argv(self, spec: AgentSpec) -> list[str]:
        return [sys.executable, "-m", "missionctl.agents.process.wrapper", spec.name]

    def _supervisor_argv(self) -> list[str]:
        return [*missionctl_argv(), "supervise"]

    def up(self) -> list[tuple[str, str]]:
        """Start the hub and every agent not already running; return (name, what happened)."""
        check_tmux()  # present and new enough, before anything else
        with self._up_lock():
            return self._up()

    def _up(self) -> list[tuple[str, str]]:
        specs = list(self.org.agents)
        providers = {s.name: self._provider(s) for s in specs}
        for spec in specs:
            providers[spec.name].check(self._context(spec))
        trees = AgentWorktrees(self.ws, self.org)
        for spec in specs:
            trees.create(spec.name)
            providers[spec.name].prepare(self._context(spec))
        for spec in specs:  # the first message needs the program: fail before starting
            self._context(spec).first_message()
        self._write_config()
        self.ws.private_dir("state")
        self.ws.private_dir("logs")

        report: list[tuple[str, str]] = []
        ended = self.end_leftovers()
        if ended:  # never a second copy of an agent in the same worktree
            report.append((", ".join(ended), "ended: left running by a hub that died"))
        if not self.is_up():
            self.tmux.run_many([
                ["new-session", "-d", "-s", SESSION, "-n", SUPERVISOR_WINDOW,
                 "-x", str(DEFAULT_SIZE[0]), "-y", str(DEFAULT_SIZE[1]),
                 "-c", str(self.ws.root), *self._env_args(None), "--", *self._supervisor_argv()],
                ["set-option", "-w", "-t", f"={SESSION}:0", "window-size", "manual"],
            ])  # fmt: skip
            report.append((SUPERVISOR_WINDOW, "started"))
        panes = {p.window: p for p in self.tmux.panes()}
        supervisor = panes.get(SUPERVISOR_WINDOW)
        if supervisor is not None and not any(n == SUPERVISOR_WINDOW for n, _ in report):
            if supervisor.dead:
                self._respawn(supervisor.pane_id, self.ws.root, None, self._supervisor_argv())
                report.append((SUPERVISOR_WINDOW, "restarted"))
            else:
                report.append((SUPERVISOR_WINDOW, "already running"))
        for spec in specs:
            pane = panes.get(spec.name)
            if pane is None:
                self.states.forget(spec.name)
                # The next free index: an agent added to org.toml later must not collide
                # with a running window; windows are found by name, not index.
                window_id = self.tmux.run(
                    "new-window", "-d", "-P", "-F", "#{window_id}", "-t", f"={SESSION}:",
                    "-n", spec.name, "-c", str(self.ws.worktree(spec.name)),
                    *self._env_args(spec), "--", *self._wrapper_argv(spec),
                ).strip()  # fmt: skip
                self.tmux.run("set-option", "-w", "-t", window_id, "window-size", "manual")
                report.append((spec.name, "started"))
            elif pane.dead:
                report.append((spec.name, f"exited({pane.exit_code}); restart it with"
                               f" `missionctl restart {spec.name}`"))  # fmt: skip
            else:
                report.append((spec.name, "already running"))
        for name in panes:
            if name != SUPERVISOR_WINDOW and name not in self.org.names:
                report.append((name, "running, but no longer in org/org.toml"))
        return report

    def down(self, grace: float = 5.0) -> list[str]:
        """Stop every agent (TERM, then KILL after `grace`), the supervisor and the server,
        and whatever an earlier hub that died left running; return what was stopped.

        All trees are signalled at once and share one grace period: agents that
        ignore TERM cost `grace` once, not once each. On Slurm, every job the org
        submitted is cancelled first, and `down` returns once Slurm has ended them.
        """
        try:
            cancelled, not_cancelled = self.cancel_jobs(None, "`missionctl down`"), ""
        except UserError as exc:  # the org comes down all the same
            cancelled, not_cancelled = 0, f"no Slurm job cancelled ({exc})"
        running = self.tmux.server_running()
        panes = self.tmux.panes() if running and self.is_up() else []
        live = [p for p in panes if not p.dead]
        left = self.leftovers()
        names = [proctree.hub_process_name(p) for p in left]
        proctree.terminate_many([p.pid for p in live] + [p.pid for p in left], grace=grace)
        stopped = [p.window for p in live]
        if left:  # the hub died before: its agents lived on without it
            stopped.append(f"{', '.join(names)} (left running by a hub that died)")
        if running:
            self.tmux.run("kill-server", check=False)
        for spec in self.org.agents:
            self.states.clear_paused(spec.name)
        if self.on_slurm and not not_cancelled:
            left = slurm_jobs.wait_gone(self.ws)
            slurm_jobs.settle_runs(self.ws)  # the runs whose followers were stopped first
            if cancelled:
                stopped.append(f"{plural(cancelled, 'Slurm job')} (cancelled)")
            if left:
                ids = ", ".join(j.job_id for j in left)
                stopped.append(f"Slurm jobs {ids} (still ending; `squeue --me` shows them)")
        elif not_cancelled:
            stopped.append(not_cancelled)
        return stopped

    # -- Slurm --------------------------------------------------------------------------
    @property
    def on_slurm(self) -> bool:
        """Whether the org's runs are Slurm jobs (`[runs] executor = "slurm"`)."""
        return self.org.executor == "slurm"

    def cancel_jobs(self, agent: str | None, who: str) -> int:
        """Cancel the org's Slurm jobs, one agent's or every one; how many there were.
        A `UserError` when Slurm does not answer."""
        if not self.on_slurm:
            return 0
        return len(slurm_jobs.cancel(self.ws, agent, who))

    # -- one agent ------------------------------------------------------------------
    def _pane(self, agent: str) -> PaneInfo:
        self.org.agent(agent)  # unknown names are a clear error
        if not self.is_up():
            raise UserError("the org is not running; start it with `missionctl up`")
        for pane in self.tmux.panes():
            if pane.window == agent:
                return pane
        raise UserError(f"{agent} has no window in the hub; start it with `missionctl up`")

    def target(self, agent: str) -> str:
        """The tmux target of an agent's window."""
        return self._pane(agent).window_id

    def pause(self, agent: str) -> list[int]:
        """Freeze every process of the agent's tree (its training runs too)."""
        pane = self._pane(agent)
        if pane.dead:
            raise UserError(f"{agent} has exited; there is nothing to pause")
        pids = proctree.freeze(pane.pid)
        self.states.set_paused(agent, pids)
        if self.on_slurm:
            # After the freeze: the terminal following a job must not see it suspended
            # and write over the pause marks. Pending jobs are held, so none starts.
            try:
                slurm_jobs.pause(self.ws, agent)
            except UserError as exc:
                raise UserError(f"{agent} is paused, but its jobs are not: {exc}") from None
        return pids

    def resume(self, agent: str) -> None:
        pane = self._pane(agent)
        if self.states.paused_since(agent) is None:
            raise UserError(f"{agent} is not paused")
        if self.on_slurm:
            slurm_jobs.resume(self.ws, agent)
        proctree.thaw(pane.pid, self.states.paused_pids(agent))
        self.states.clear_paused(agent)

    def kill(self, agent: str, grace: float = 5.0, *, cancel_jobs: bool = True) -> list[int]:
        """End the agent's whole tree, and its Slurm jobs unless the caller has already
        cancelled them (`cancel_jobs=False`); its window stays with the last screen."""
        pane = self._pane(agent)
        if pane.dead:
            raise UserError(f"{agent} has already exited")
        # The jobs first: the terminals following them then see why they ended. If
        # Slurm does not answer, each terminal cancels its own job as it is ended.
        if cancel_jobs:
            with contextlib.suppress(UserError):
                self.cancel_jobs(agent, f"`missionctl kill {agent}`")
        pids = proctree.terminate(pane.pid, grace=grace)
        self.states.clear_paused(agent)
        return pids

    def restart(self, agent: str, grace: float = 5.0) -> None:
        """Respawn the agent in the same window and worktree."""
        pane = self._pane(agent)
        spec = self.org.agent(agent)
        # Everything that can fail comes first: a restart that cannot start again
        # must not have killed the agent.
        provider = self._provider(spec)
        ctx = self._context(spec)
        provider.check(ctx)
        AgentWorktrees(self.ws, self.org).create(agent)
        provider.prepare(ctx)
        ctx.first_message()
        if not pane.dead:
            with contextlib.suppress(UserError):  # as kill does
                self.cancel_jobs(agent, f"`missionctl restart {agent}`")
            proctree.terminate(pane.pid, grace=grace)
        self.states.forget(agent)
        self._respawn(pane.pane_id, self.ws.worktree(agent), spec, self._wrapper_argv(spec))

    def _respawn(self, pane_id: str, cwd: Path, spec: AgentSpec | None, argv: list[str]) -> None:
        self.tmux.run(
            "respawn-pane", "-k", "-t", pane_id, "-c", str(cwd), *self._env_args(spec), "--", *argv
        )

    # -- takeover ---------------------------------------------------------------------
    def begin_takeover(self, agent: str) -> tuple[int, int]:
        """Let the agent's window follow the terminal that attaches; return its old size."""
        pane = self._pane(agent)
        self.states.set_taken_over(agent, True)  # the supervisor types nothing meanwhile
        self.tmux.run("set-option", "-w", "-t", pane.window_id, "window-size", "latest")
        return pane.width, pane.height

    def takeover_argv(self, agent: str) -> list[str]:
        """The command that attaches a terminal to the agent's window (`C-]` detaches)."""
        target = self._pane(agent).window_id
        return self.tmux.argv(
            "select-window", "-t", target, ";", "attach-session", "-t", f"={SESSION}"
        )

    def end_takeover(self, agent: str, size: tuple[int, int] | None) -> None:
        """Give the window back its fixed size (a grid cell's, or the one it had)."""
        pane = self._pane(agent)
        self.states.set_taken_over(agent, False)
        self.tmux.run("set-option", "-w", "-t", pane.window_id, "window-size", "manual")
        if size is not None:
            self.resize(agent, *size)

    def resize(self, agent: str, width: int, height: int) -> None:
        self.tmux.run(
            "resize-window", "-t", self._pane(agent).window_id, "-x", str(width), "-y", str(height)
        )

    # -- reading ----------------------------------------------------------------------
    def statuses(self) -> list[AgentStatus]:
        """Every agent of the org with its state; `down` when the hub is not running."""
        running = self.is_up()
        panes = {p.window: p for p in self.tmux.panes()} if running else {}
        now = time.time()
        states = self.reader().read(self.org.names, panes, running, now)
        out = []
        for spec in self.org.agents:
            pane = panes.get(spec.name)
            proc = self.states.proc(spec.name) if pane is not None else None
            alive = (
                proc is not None and pane is not None and not pane.dead
                and proc.wrapper_pid == pane.pid
            )  # fmt: skip
            out.append(
                AgentStatus(
                    spec.name, spec.role, spec.provider, spec.gpu, self.org.branch(spec.name),
                    states[spec.name],
                    proc.child_pid if alive and proc else None,
                    now - proc.started_at if alive and proc else None,
                    pane.window_id if pane else None,
                )
            )  # fmt: skip
        return out

    def supervisor_state(self) -> AgentState:
        """The supervisor's window: running, exited(code) (it died), or down."""
        if not self.is_up():
            return AgentState(DOWN)
        pane = next((p for p in self.tmux.panes() if p.window == SUPERVISOR_WINDOW), None)
        if pane is None:
            return AgentState(UNKNOWN, detail="no supervisor window")
        if pane.dead:
            code = pane.exit_code if pane.exit_code is not None else -1
            why = "mail and standups stop; `missionctl up` restarts it"
            return AgentState(exited(code), exit_code=code, detail=why)
        return AgentState("running")

    def reader(self, screen_ttl: float = 0.0) -> StateReader:
        """The state reader every view of this hub uses (status, app, supervisor)."""
        providers = {a.name: self._provider(a) for a in self.org.agents}
        return StateReader(self.tmux, self.states, providers, screen_ttl)
