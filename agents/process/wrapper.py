"""The process tmux runs in each agent window: `python -m missionctl.agents.process.wrapper AGENT`.

It starts the provider's command in the agent's worktree, with the agent's
environment, and stays as its parent:
- tmux sends SIGCONT to a pane's direct child whenever it stops, so the agent is
  never the direct child: pausing acts on the wrapper's descendants.
- It is a child subreaper, so processes the agent detaches (nohup, setsid, double
  fork) stay in its tree, where pause freezes them and kill reaches them.
- It records the provider's pid and start time, and exits with its exit code,
  which tmux keeps (remain-on-exit) for `exited(<code>)`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from missionctl import workspace
from missionctl.agents.providers import LaunchContext, provider_for
from missionctl.agents.state.store import STARTING, ProcRecord, StateStore
from missionctl.errors import UserError

PR_SET_CHILD_SUBREAPER = 36
GRACE_S = 5.0


def _become_subreaper() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: detached processes escape the tree, nothing worse


def _descendants(pid: int) -> list[int]:
    """Every process below `pid`."""
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _terminate_leftovers() -> None:
    """The agent exited: end what it left running (adopted by this subreaper)."""
    left = _descendants(os.getpid())
    for pid in left:
        for sig in (signal.SIGTERM, signal.SIGCONT):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + GRACE_S
    while time.monotonic() < deadline and _descendants(os.getpid()):
        _reap()
        time.sleep(0.05)
    for pid in _descendants(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _reap()


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _wait_reaping(main_pid: int) -> int:
    """Wait for the agent, reaping adopted orphans as they die (no zombies in the tree)."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 0
        if pid == main_pid:
            code = os.waitstatus_to_exitcode(status)
            return 128 - code if code < 0 else code  # by a signal: the shell's convention


def run(agent: str) -> int:
    """Start the agent's provider and wait for it; return its exit code."""
    ws = workspace.find()
    org = ws.load_org()
    spec = org.agent(agent)
    ctx = LaunchContext(ws, org, spec, ws.worktree(agent))
    provider = provider_for(spec.provider, org.provider_settings(spec.provider))
    provider.check(ctx)
    argv = provider.command(ctx)
    env = dict(os.environ)
    env.update(provider.env(ctx))
    # `missionctl` (beside this interpreter) first on PATH, for the agent's own calls.
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    env[workspace.ENV_AGENT] = agent
    env[workspace.ENV_WORKSPACE] = str(ws.root)
    if spec.gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(spec.gpu)
    else:
        env.pop("CUDA_VISIBLE_DEVICES", None)

    store = StateStore(ws.state_dir)
    store.record(agent, STARTING)
    _become_subreaper()
    try:
        child = subprocess.Popen(argv, cwd=ctx.worktree, env=env)
    except OSError as exc:
        raise UserError(f"cannot start {agent} ({argv[0]}): {exc.strerror}") from None
    store.set_proc(ProcRecord(agent, os.getpid(), child.pid, time.time(), spec.provider, argv[0]))

    # Like system(3): keyboard signals are the agent's to handle; the wrapper waits.
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP):
        signal.signal(sig, signal.SIG_IGN)

    def forward(signum: int, _frame: object) -> None:
        # os.kill, not Popen.send_signal: that polls, and a poll here would reap the
        # agent behind _wait_reaping's back and lose its exit code.
        for sig in (signum, signal.SIGCONT):  # a paused agent must see it
            try:
                os.kill(child.pid, sig)
            except ProcessLookupError:
                pass
        if signum == signal.SIGHUP:
            # The terminal is gone (the pane closed, or its tmux server was killed): an
            # agent that ignores SIGHUP would live on unseen, so end the tree after a grace.
            signal.alarm(int(GRACE_S))

    def hung_up(_signum: int, _frame: object) -> None:
        for pid in _descendants(os.getpid()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGHUP, forward)
    signal.signal(signal.SIGALRM, hung_up)
    code = _wait_reaping(child.pid)
    child.returncode = code
    _terminate_leftovers()
    print(
        f"\n[missionctl] {agent} exited with code {code}; `missionctl restart {agent}` restarts it"
    )
    return code


def main() -> None:
    if len(sys.argv) != 2:
        print("usage: python -m missionctl.agents.process.wrapper AGENT", file=sys.stderr)
        raise SystemExit(2)
    try:
        raise SystemExit(run(sys.argv[1]))
    except UserError as exc:
        print(f"missionctl: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None


if __name__ == "__main__":
    main()
