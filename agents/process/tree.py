"""Freeze, thaw and end a process tree (an agent and everything it started).

The tree's root is the agent's wrapper. Pause stops its descendants but never
the wrapper itself: tmux would send it SIGCONT at once. Processes can fork while
we walk the tree, so stopping repeats until a pass finds nothing new.
"""

from __future__ import annotations

import os
import signal
import time

import psutil


def descendants(root_pid: int) -> list[psutil.Process]:
    """The processes below `root_pid`, parents before children; [] if it is gone."""
    try:
        return list(psutil.Process(root_pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return []


def _signal(proc: psutil.Process, sig: int) -> bool:
    try:
        os.kill(proc.pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def freeze(root_pid: int, timeout: float = 5.0) -> list[int]:
    """SIGSTOP every descendant of `root_pid`; return their pids once all are stopped.

    Parents first, and each one is seen stopped before its children are stopped:
    a shell still running when its foreground job stops would report the job as
    "Stopped" and carry on without it.
    """
    stopped: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + timeout
    while True:
        fresh = [p for p in descendants(root_pid) if p.pid not in stopped]
        for proc in fresh:  # parents first: a stopped parent forks no more
            if _signal(proc, signal.SIGSTOP):
                stopped[proc.pid] = proc
                _wait_stopped(proc, deadline)
        running = [p for p in stopped.values() if _is_running(p)]
        if not fresh and not running:
            return sorted(stopped)
        if time.monotonic() > deadline:
            return sorted(stopped)
        time.sleep(0.01)


def _wait_stopped(proc: psutil.Process, deadline: float) -> None:
    """SIGSTOP is delivered asynchronously: wait until the process is really stopped."""
    while _is_running(proc) and time.monotonic() < deadline:
        time.sleep(0.001)


def _is_running(proc: psutil.Process) -> bool:
    try:
        return proc.status() not in (
            psutil.STATUS_STOPPED,
            psutil.STATUS_ZOMBIE,
            psutil.STATUS_DEAD,
        )
    except psutil.NoSuchProcess:
        return False


def thaw(root_pid: int, extra_pids: list[int] | None = None) -> None:
    """SIGCONT every descendant of `root_pid` (and `extra_pids`, stopped earlier).

    Children first: a shell woken before its foreground job sees the job still
    stopped, reports "Stopped" and moves on, leaving the job in the background.
    """
    seen = set()
    for proc in reversed(descendants(root_pid)):
        seen.add(proc.pid)
        _signal(proc, signal.SIGCONT)
    for pid in extra_pids or []:
        if pid not in seen:
            try:
                os.kill(pid, signal.SIGCONT)
            except (ProcessLookupError, PermissionError):
                pass


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until each process has exited (a zombie counts as exited); return the rest."""
    deadline = time.monotonic() + timeout
    alive = list(procs)
    while alive:
        alive = [p for p in alive if _exists(p)]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return alive


def _exists(proc: psutil.Process) -> bool:
    try:
        return proc.status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return False


def terminate(root_pid: int, grace: float = 5.0, include_root: bool = True) -> list[int]:
    """SIGTERM+SIGHUP the tree (waking stopped processes so they see it), SIGKILL what is
    left after `grace` seconds; return the pids that were signalled.

    The tree is listed before anything is signalled: once the root dies its
    descendants are re-parented and no longer found below it.
    """
    return terminate_many([root_pid], grace, include_root)


def terminate_many(
    root_pids: list[int], grace: float = 5.0, include_root: bool = True
) -> list[int]:
    """`terminate` for several trees at once, sharing one grace period."""
    procs: list[psutil.Process] = []
    for root_pid in root_pids:
        procs += descendants(root_pid)
        if include_root:
            try:
                procs.append(psutil.Process(root_pid))
            except psutil.NoSuchProcess:
                pass
    for proc in procs:
        _signal(proc, signal.SIGTERM)
        # Interactive shells ignore TERM but not HUP: the terminal is going away.
        _signal(proc, signal.SIGHUP)
        _signal(proc, signal.SIGCONT)
    alive = _wait_gone(procs, grace)
    # Anything forked meanwhile by a survivor belongs to the tree too.
    leftovers = {p.pid: p for p in alive}
    for proc in alive:
        try:
            for child in proc.children(recursive=True):
                leftovers.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            pass
    for proc in leftovers.values():
        _signal(proc, signal.SIGKILL)
    _wait_gone(list(leftovers.values()), 2.0)
    return [p.pid for p in procs]


WRAPPER_MODULE = "missionctl.agents.process.wrapper"


def _is_hub_process(cmdline: list[str]) -> bool:
    """An agent window's wrapper, or the supervisor (`missionctl supervise`)."""
    for i in range(len(cmdline) - 1):
        if cmdline[i] == "-m" and cmdline[i + 1] == WRAPPER_MODULE:
            return True
    return (
        len(cmdline) >= 2
        and cmdline[-1] == "supervise"
        and any(os.path.basename(a) == "missionctl" for a in cmdline[:-1])
    )


def hub_processes(workspace_root: str) -> list[psutil.Process]:
    """Every wrapper and supervisor process started for this workspace (by the
    workspace in their environment, which tmux set when it started them)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if not _is_hub_process(proc.info["cmdline"] or []):
                continue
            if proc.environ().get("MISSIONCTL_WORKSPACE") == workspace_root:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def hub_process_name(proc: psutil.Process) -> str:
    """The agent a wrapper runs, or "supervisor"."""
    try:
        cmdline = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return f"pid {proc.pid}"
    return "supervisor" if cmdline[-1:] == ["supervise"] else (cmdline[-1] if cmdline else "?")
