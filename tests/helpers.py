"""Helpers the tests share: run git, run missionctl in-process or as a process."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psutil

from missionctl import cli

# Saved screens, stand-in programs and other files the tests use.
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCREENS = FIXTURES / "screens"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True
    ).stdout


def run_cli(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run `missionctl argv` in-process in `cwd`; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue()


def run_missionctl(
    argv: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `missionctl argv` as a real process, as a user or an agent would."""
    return subprocess.run(
        [sys.executable, "-m", "missionctl", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
    )


def run_python(code: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the Python snippet `code` in a fresh interpreter in `cwd`; it must exit 0.

    A fresh process: what it imports and prints once is its own, not the test run's.
    """
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def end_process(process: subprocess.Popen[Any], grace: float) -> None:
    """Terminate `process`; kill it if it has not exited after `grace` seconds."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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


def never(condition: Callable[[], bool], seconds: float) -> None:
    """Watch `condition` for `seconds` (an observation window): it must stay false."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert not condition()
        time.sleep(0.2)


def agent_state(root: Path, agent: str) -> str:
    """`agent`'s state as `missionctl status --json` prints it."""
    proc = run_missionctl(["status", "--json"], cwd=root, timeout=30)
    assert proc.returncode == 0, proc.stderr
    states = {a["name"]: a["state"] for a in json.loads(proc.stdout)["agents"]}
    return str(states[agent])


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
