"""Who is calling: the agent whose window the calling process runs in, if any.

Agents choose their own environment, so `MISSIONCTL_AGENT` is only a claim.
What an agent cannot choose is its place in the process tree: tmux starts each
agent window's wrapper (`python -m missionctl.agents.process.wrapper NAME`, with the
workspace in its environment), and the wrapper is a child subreaper, so every
process an agent starts stays below it. The outermost wrapper above a process
names its agent (an agent can start a look-alike wrapper, but only below its own).

This runs on every hook call, so it reads `/proc` with the standard library only:
importing psutil alone costs 14 ms (measured with `python -X importtime`), half
again the hook's own work.
Limits, while all agents run as one user: an agent can still write files in the
workspace directly or drive the hub's tmux server; only separate users (or
containers) per agent close those.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from missionctl.names import ENV_WORKSPACE, NAME_RE

WRAPPER_MODULE = "missionctl.agents.process.wrapper"


class Caller(NamedTuple):
    """The agent a process belongs to, and the workspace its window was started in."""

    agent: str
    workspace: str
    wrapper_pid: int


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as fh:
        stat = fh.read()
    return int(stat[stat.rindex(b")") + 2 :].split()[1])


def _wrapper_agent(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
    except OSError:
        return None
    for i in range(len(argv) - 2):
        if argv[i] == b"-m" and argv[i + 1] == WRAPPER_MODULE.encode():
            name = argv[i + 2].decode("utf-8", "replace")
            return name if NAME_RE.match(name) else None
    return None


def _workspace_of(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            env = fh.read().split(b"\0")
    except OSError:
        return ""
    prefix = ENV_WORKSPACE.encode() + b"="
    for item in env:
        if item.startswith(prefix):
            return item[len(prefix) :].decode("utf-8", "replace")
    return ""


def caller(pid: int | None = None) -> Caller | None:
    """The agent whose wrapper is the outermost above `pid` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    found: Caller | None = None
    seen: set[int] = set()
    try:
        while pid > 1 and pid not in seen:
            seen.add(pid)
            agent = _wrapper_agent(pid)
            if agent is not None:
                found = Caller(agent, _workspace_of(pid), pid)
            pid = _ppid(pid)
    except (OSError, ValueError, IndexError):
        pass  # no /proc (not Linux), or an ancestor exited meanwhile: what we saw stands
    return found
