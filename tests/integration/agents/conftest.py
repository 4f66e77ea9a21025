"""A workspace whose org is made of shell agents, and a hub that is always torn down."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import psutil
import pytest

from missionctl.agents.hub import Hub
from missionctl.workspace import Workspace
from tests.helpers import git

T = TypeVar("T")


def wait_for(what: Callable[[], T], timeout: float = 10.0, message: str = "") -> T:
    """Poll `what` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T = what()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or what}")
        time.sleep(0.05)
        last = what()
    return last


def write_org(root: Path, agents: str, extra: str = "") -> None:
    (root / "org" / "org.toml").write_text(f'[org]\nname = "lab"\n{extra}\n{agents}')
    git(root, "add", "org")
    git(root, "commit", "-q", "-m", "org")


def shell_agents(n: int) -> str:
    return "".join(
        f'[[agent]]\nname = "a{i}"\nprovider = "shell"\ngpu = {i}\n\n' for i in range(1, n + 1)
    )


def processes_of(root: Path) -> list[psutil.Process]:
    """Every live process started for this workspace (found by its environment)."""
    needle = f"MISSIONCTL_WORKSPACE={root}"
    found = []
    for proc in psutil.process_iter():
        try:
            env = proc.environ()
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        if f"MISSIONCTL_WORKSPACE={env.get('MISSIONCTL_WORKSPACE')}" == needle:
            try:
                if proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
            except psutil.NoSuchProcess:
                pass
    return found


@pytest.fixture
def hub_factory(workspace: Path, tmux_tmpdir: Path) -> Iterator[Callable[[str, str], Hub]]:
    """Write an org, return its Hub; the hub is brought down after the test."""
    hubs: list[Hub] = []

    def make(agents: str, extra: str = "") -> Hub:
        write_org(workspace, agents, extra)
        hub = Hub(Workspace(workspace))
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.down(grace=1.0)
