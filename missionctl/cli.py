"""The `missionctl` command: a thin dispatcher over sub-commands.

Sub-commands are imported lazily by name: agents call `missionctl hook` and
`missionctl mail send` on every tool call, so their path must not pay for
textual or torch. Each command module exposes `main(argv) -> int`.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence

from missionctl import __version__
from missionctl.errors import UserError

# name -> ("module:function" below missionctl, one-line help). Only working commands are listed.
COMMANDS: dict[str, tuple[str, str]] = {
    "app": ("tui.cli:main", "open the live grid of agents (the default command)"),
    "demo": ("tui.cli:demo", "make and start the offline demo org, and watch it"),
    "serve": ("tui.serve:main", "serve the grid in a browser (a token beyond loopback)"),
    "init": ("workspace_cli:main", "make a git repository a missionctl workspace"),
    "up": ("agents.cli.commands:up", "start the org: tmux hub, supervisor, every agent"),
    "status": ("agents.cli.commands:status", "show each agent: state, pid, branch, GPU, uptime"),
    "pause": ("agents.cli.commands:pause", "freeze an agent and everything it started"),
    "resume": ("agents.cli.commands:resume", "thaw a paused agent"),
    "kill": ("agents.cli.commands:kill", "end an agent and everything it started"),
    "restart": ("agents.cli.commands:restart", "restart an agent in its window and worktree"),
    "attach": ("agents.cli.commands:attach", "take over an agent's terminal (C-] comes back)"),
    "down": ("agents.cli.commands:down", "stop every agent and the hub"),
    "worktrees": ("worktrees.cli:main", "list, create, diff, merge and clean agents' worktrees"),
    "mail": ("mailbox.cli:main", "send, list and read mail between agents and people"),
    "train": ("train.cli:main", "train the GPT and record the run (see --help)"),
    "runs": ("train.runs.cli:main", "list and show training runs"),
    "run": ("train.command:main", "run any command and record it as a run (-- CMD ...)"),
    "exp": ("ledger.cli:exp_main", "preregistered experiments: new, plan, attach, show, verdict"),
    "ledger": ("ledger.cli:ledger_main", "export the ledger, compare bare runs, list claims"),
    "claim": ("mailbox.cli:claim_main", "claim a result; the ledger's verdict answers it"),
    "progress": ("ledger.cli:progress_main", "the org's progress: verdict-backed results by time"),
    "standup": ("agents.cli.commands:standup", "ask every agent for a standup now"),
    "hook": ("agents.cli.hook:main", "record an agent's hook event (agents call this)"),
    "supervise": ("agents.supervision.supervisor:main", "run the org's supervisor (window 0)"),
}

# Commands that run when `missionctl` is called with no arguments, if registered.
DEFAULT_COMMAND = "app"


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [
        "usage: missionctl [--version] [--help] <command> [args]",
        "",
        "Mission control for a research org of coding agents.",
        "",
        "commands:",
    ]
    for name, (_, text) in COMMANDS.items():
        lines.append(f"  {name.ljust(width)}  {text}")
    lines += ["", "Run `missionctl <command> --help` for a command's options."]
    return "\n".join(lines)


def _load(target: str) -> Callable[[list[str]], int]:
    module_name, _, func_name = target.partition(":")
    module = importlib.import_module(f".{module_name}", "missionctl")
    func: Callable[[list[str]], int] = getattr(module, func_name)
    return func


def main(argv: Sequence[str] | None = None) -> int:
    """Run `missionctl` with `argv` (default: the process arguments); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if not args:
            if DEFAULT_COMMAND in COMMANDS:
                return _load(COMMANDS[DEFAULT_COMMAND][0])([])
            print(_usage())
            return 0
        head, rest = args[0], args[1:]
        if head in ("-h", "--help", "help"):
            print(_usage())
            return 0
        if head in ("-V", "--version"):
            print(f"missionctl {__version__}")
            return 0
        if head not in COMMANDS:
            raise UserError(
                f"unknown command {head!r}; the commands are: {', '.join(COMMANDS)}"
                " (see `missionctl --help`)"
            )
        return _load(COMMANDS[head][0])(rest)
    except UserError as exc:
        print(f"missionctl: {exc}", file=sys.stderr)
        return exc.exit_code
    except (KeyboardInterrupt, EOFError):  # Ctrl-C, or Ctrl-D at a question
        print("missionctl: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `missionctl ... | head` closed the pipe: not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        # A path the user gave that is not what it must be (a file, not a folder...).
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"missionctl: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
