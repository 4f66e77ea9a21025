"""The provider interface and what every provider is given to start an agent."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from missionctl.agents.state.onscreen import LineProgram, ScreenReader
from missionctl.errors import UserError
from missionctl.orgfile import AgentSpec, OrgSpec, ProviderSettings
from missionctl.workspace import Workspace


@dataclass(frozen=True)
class LaunchContext:
    """Everything a provider needs to start one agent."""

    workspace: Workspace
    org: OrgSpec
    agent: AgentSpec
    worktree: Path

    @property
    def settings(self) -> ProviderSettings:
        return self.org.provider_settings(self.agent.provider)

    @property
    def model(self) -> str | None:
        """The agent's own `model`, else its provider's (None: the CLI's default)."""
        return self.agent.model or self.settings.model

    def first_message(self) -> str:
        """The role prompt, who the agent is, and the research program."""
        root = self.workspace.root
        role_file = self.workspace.prompts_dir / f"{self.agent.role}.md"
        role = role_file.read_text(encoding="utf-8") if role_file.is_file() else ""
        program_file = root / self.org.program
        if not program_file.is_file():
            raise UserError(
                f"{program_file} does not exist; write the research program there, or set"
                " `program` under [org] in org/org.toml"
            )
        others = ", ".join(
            f"{a.name} ({a.role})" for a in self.org.agents if a.name != self.agent.name
        )
        who = (
            f"You are agent {self.agent.name!r} ({self.agent.role}) in the org"
            f" {self.org.name!r}. Your worktree is {self.worktree} on branch"
            f" {self.org.branch(self.agent.name)}. The others: {others or 'none'}."
        )
        program = program_file.read_text(encoding="utf-8")
        return f"{role.strip()}\n\n{who}\n\n{program.strip()}\n"


def missionctl_argv() -> list[str]:
    """How to run this missionctl: its console script beside the interpreter, else -m."""
    script = Path(sys.executable).with_name("missionctl")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "missionctl"]


def hook_command(event: str) -> str:
    """A shell command line that reports `event` to missionctl."""
    return shlex.join([*missionctl_argv(), "hook", event])


def version_output(path: str) -> str:
    """What `path --version` prints; empty if it cannot be run (15 s at most)."""
    try:
        return subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=15, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def require_binary(name: str, package: str) -> str:
    """The path of `name`, or a `UserError` naming the npm package that provides it."""
    path = shutil.which(name)
    if path is None:
        raise UserError(
            f"{name!r} was not found on PATH; install it with `npm install -g {package}`"
            f" (or set [providers.<provider>].command in org/org.toml)"
        )
    return path


class Provider(ScreenReader, Protocol):
    """Starts one kind of agent in its worktree, and reads its screen."""

    name: str
    # Seconds between pasting a mail notice and pressing Enter: TUIs that treat a
    # fast Enter as part of the paste need a moment.
    submit_delay: float
    # How a mail notice reaches it: "type" (pasted into its prompt and submitted) or
    # "print" (written to its terminal as output: for shells, where typed text runs).
    notice_channel: str
    # A line program (its prompt is the last line and typed text shows after it).
    line_program: bool
    # Whether its own hooks say when it is idle at its prompt.
    has_hooks: bool

    @property
    def has_prompt_hook(self) -> bool:
        """Whether the agent reports the text of each prompt it accepts (confirms notices)."""
        ...

    @property
    def reports_work(self) -> bool:
        """Whether its hooks say when it starts working; if not, the screen has to."""
        ...

    def check(self, ctx: LaunchContext) -> None:
        """Raise `UserError` if the agent cannot be started (e.g. a missing binary)."""

    def prepare(self, ctx: LaunchContext) -> None:
        """Install what the agent needs in its worktree (hooks, rc files)."""

    def command(self, ctx: LaunchContext) -> list[str]:
        """The command line to run in the worktree."""
        ...

    def env(self, ctx: LaunchContext) -> dict[str, str]:
        """Extra environment for the agent's process."""
        ...


class OwnProgram(LineProgram):
    """One of missionctl's own line programs, run as `python -m <module> AGENT` unless
    the org names a command. It reports its state itself through `missionctl hook`
    (working, idle, needs-you, and each typed line as UserPromptSubmit), so mail
    notices are typed and confirmed as for Claude Code."""

    module: str
    submit_delay = 0.1
    notice_channel = "type"
    line_program = True
    has_hooks = True
    reports_work = True
    has_prompt_hook = True

    def check(self, ctx: LaunchContext) -> None:
        """Runs on this interpreter: nothing to check."""

    def prepare(self, ctx: LaunchContext) -> None:
        """Nothing to install: the program reports its state itself."""

    def command(self, ctx: LaunchContext) -> list[str]:
        if ctx.settings.command:
            return list(ctx.settings.command)
        return [sys.executable, "-m", self.module, ctx.agent.name]

    def env(self, ctx: LaunchContext) -> dict[str, str]:
        return dict(ctx.settings.env)
