"""The workspace's own tmux server: its config, and commands run against it.

Every call has a timeout (a wedged server must not hang the CLI or the app) and
an error that names the command. Tests inspect the same server through libtmux.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from missionctl import proc
from missionctl.errors import UserError

SESSION = "hub"
SUPERVISOR_WINDOW = "supervisor"
MIN_VERSION = (3, 2)
# Default agent window size when no app has sized it to a grid cell yet.
DEFAULT_SIZE = (120, 40)

CONFIG = """\
# missionctl's tmux config: this server belongs to missionctl, not to the user.
set -g prefix None
set -g prefix2 None
unbind-key -a -T prefix
# C-] returns from a takeover to the grid.
bind-key -n C-] detach-client
set -g status off
# Keep an agent's last screen (and its exit status) when it exits.
set -g remain-on-exit on
# Windows are sized by the app (one grid cell each), never by attached clients:
# missionctl sets `window-size manual` on each window as it makes it. Not globally:
# tmux 3.3-3.6 crash on `new-window` with a global manual size and no client.
set -g default-size {width}x{height}
set -g default-terminal "tmux-256color"
set -g history-limit 5000
set -s escape-time 0
set -g focus-events on
set -g mouse off
# Window names are agent names; nothing may rename them.
set -g allow-rename off
set -g automatic-rename off
set -g renumber-windows off
set -g base-index 0
"""

_FIELD_SEP = "\x1f"  # unit separator: never in window names or paths we create


@dataclass(frozen=True)
class PaneInfo:
    """One agent window's single pane, as tmux reports it."""

    window: str
    window_id: str
    pane_id: str
    pid: int
    dead: bool
    dead_status: int | None
    dead_signal: int | None
    width: int
    height: int
    current_command: str
    tty: str = ""  # the pane's terminal device (/dev/pts/N)

    @property
    def exit_code(self) -> int | None:
        """The exit code of a dead pane, 128+N for signal N (the shell's convention)."""
        if self.dead_status is not None:
            return self.dead_status
        if self.dead_signal is not None:
            return 128 + self.dead_signal
        return None


def _is_zombie(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def check_tmux() -> str:
    """The tmux executable, checked to exist and be new enough; else a `UserError`."""
    exe = shutil.which("tmux")
    if exe is None:
        raise UserError(
            "tmux was not found on PATH; install tmux 3.2 or newer (e.g. `apt-get install tmux`)"
        )
    out = proc.run([exe, "-V"], timeout=5).stdout.strip()
    m = re.search(r"(\d+)\.(\d+)", out)
    if not m or (int(m.group(1)), int(m.group(2))) < MIN_VERSION:
        raise UserError(
            f"{out or 'tmux'} is too old; missionctl needs tmux"
            f" {MIN_VERSION[0]}.{MIN_VERSION[1]} or newer (e.g. `apt-get install tmux`)"
        )
    return exe


def env_outside_tmux() -> dict[str, str]:
    """This process's environment without TMUX/TMUX_PANE: tmux refuses to nest an
    attach, and a client started inside another server must not talk to it."""
    return {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}


class Tmux:
    """Commands against one tmux server, addressed by socket name (`tmux -L`)."""

    def __init__(self, socket_name: str, config: Path | None = None) -> None:
        self.socket_name = socket_name
        self.config = config
        self._exe: str | None = None

    @property
    def exe(self) -> str:
        if self._exe is None:
            self._exe = check_tmux()
        return self._exe

    def argv(self, *args: str) -> list[str]:
        """The full command line for `tmux <args>` against this server."""
        base = [self.exe, "-L", self.socket_name]
        if self.config is not None:
            base += ["-f", str(self.config)]
        return [*base, *args]

    def run(self, *args: str, timeout: float = 10.0, check: bool = True) -> str:
        """Run a tmux command; return its stdout."""
        env = env_outside_tmux()
        return proc.run(self.argv(*args), timeout=timeout, check=check, env=env).stdout

    def run_many(self, commands: Sequence[Sequence[str]], timeout: float = 20.0) -> str:
        """Several commands in one tmux invocation (`a ; b ; c`): one round trip."""
        args: list[str] = []
        for i, command in enumerate(commands):
            if i:
                args.append(";")
            args.extend(command)
        return self.run(*args, timeout=timeout)

    def socket_path(self) -> Path:
        """Where tmux puts the socket for `-L <name>` (honours TMUX_TMPDIR)."""
        base = os.environ.get("TMUX_TMPDIR") or "/tmp"
        return Path(base) / f"tmux-{os.getuid()}" / self.socket_name

    def server_running(self) -> bool:
        if not self.socket_path().exists():
            return False
        out = proc.run(self.argv("list-sessions", "-F", "#{session_name}"), timeout=10, check=False)
        return out.returncode == 0

    def has_session(self, name: str = SESSION) -> bool:
        if not self.socket_path().exists():
            return False
        out = proc.run(self.argv("has-session", "-t", f"={name}"), timeout=10, check=False)
        return out.returncode == 0

    def panes(self, session: str = SESSION) -> list[PaneInfo]:
        """Every window's first pane in `session`, in window order."""
        fields = [
            "#{window_name}", "#{window_id}", "#{pane_id}", "#{pane_pid}", "#{pane_dead}",
            "#{pane_dead_status}", "#{pane_dead_signal}", "#{pane_width}", "#{pane_height}",
            "#{pane_current_command}", "#{pane_tty}", "#{pid}",
        ]  # fmt: skip
        for attempt in range(20):
            out = self.run("list-panes", "-s", "-t", f"={session}", "-F", _FIELD_SEP.join(fields))
            unreaped = [
                parts for parts in (line.split(_FIELD_SEP) for line in out.splitlines())
                if len(parts) == len(fields) and parts[4] == "1" and not (parts[5] or parts[6])
                and _is_zombie(int(parts[3] or 0))
            ]  # fmt: skip
            if not unreaped:
                break
            # tmux 3.3 can miss the SIGCHLD of a pane whose process dies while its
            # children are being signalled: the process stays a zombie and the pane
            # never learns its exit status. Another SIGCHLD makes tmux look again.
            if attempt == 0:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(unreaped[0][-1]), signal.SIGCHLD)
            time.sleep(0.01)
        panes = []
        seen: set[str] = set()
        for line in out.splitlines():
            parts = line.split(_FIELD_SEP)
            if len(parts) != len(fields) or parts[1] in seen:
                continue
            seen.add(parts[1])
            panes.append(
                PaneInfo(
                    window=parts[0],
                    window_id=parts[1],
                    pane_id=parts[2],
                    pid=int(parts[3] or 0),
                    # tmux marks a pane dead when its terminal closes, and learns the exit
                    # status a moment later: until then the agent is still exiting.
                    dead=parts[4] == "1" and bool(parts[5] or parts[6]),
                    dead_status=int(parts[5]) if parts[5] else None,
                    dead_signal=int(parts[6]) if parts[6] else None,
                    width=int(parts[7]),
                    height=int(parts[8]),
                    current_command=parts[9],
                    tty=parts[10],
                )
            )
        return panes

    def capture_many(self, targets: Sequence[str]) -> dict[str, str]:
        """The visible screens of several panes in one tmux call; a pane that is gone
        is left out."""
        if not targets:
            return {}
        commands: list[list[str]] = []
        for target in targets:
            commands += [["display-message", "-p", f"{_FIELD_SEP}{target}"],
                         ["capture-pane", "-p", "-t", target]]  # fmt: skip
        try:
            out = self.run_many(commands)
        except proc.CommandError:  # one pane went away meanwhile: one call each
            screens = {}
            for target in targets:
                with contextlib.suppress(proc.CommandError):
                    screens[target] = self.capture(target)
            return screens
        screens = {}
        for chunk in out.split(_FIELD_SEP)[1:]:
            target, _, screen = chunk.partition("\n")
            screens[target] = screen
        return screens

    def capture(self, target: str, *, escapes: bool = False, history: int = 0) -> str:
        """The visible screen of `target` (`escapes`: with colour; `history`: and that
        many lines above it: a dead pane's "Pane is dead" line scrolls one line off)."""
        args = ["capture-pane", "-p", "-t", target]
        if escapes:
            args.append("-e")
        if history:
            args += ["-S", str(-history)]
        return self.run(*args)
