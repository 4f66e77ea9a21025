"""A plain interactive bash that reports working/idle through `missionctl hook`."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from missionctl.agents.providers.base import LaunchContext, missionctl_argv
from missionctl.agents.state.onscreen import LineProgram
from missionctl.files import write_private

# PS0 runs after a command line is read, before it executes; PROMPT_COMMAND before
# each prompt. Both run the same hook the coding agents call, in the background so
# the shell never waits on it; the shell's own clock orders the events.
RC = """\
# missionctl: a login-like interactive shell for agent {agent}
[ -f /etc/profile ] && . /etc/profile
[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"
# /etc/profile resets PATH on Debian: put this missionctl first again.
PATH={bin_dir}:"$PATH"
__mc_hook() {{ ( {hook} "$1" --ts "$EPOCHREALTIME" </dev/null >/dev/null 2>&1 & ) }}
PROMPT_COMMAND="__mc_hook idle${{PROMPT_COMMAND:+; $PROMPT_COMMAND}}"
PS0='$(__mc_hook working)'
PS1='{agent}$ '
"""


class Shell(LineProgram):
    name = "shell"
    submit_delay = 0.05
    # Typed text runs in a shell (a half-typed line, an open quote): notices are
    # printed to its terminal instead, never typed.
    notice_channel = "print"
    line_program = False
    has_hooks = True  # PROMPT_COMMAND reports each prompt
    reports_work = True  # PS0 reports each command
    has_prompt_hook = False

    def check(self, ctx: LaunchContext) -> None:
        """bash is always there where tmux is."""

    def _rc(self, ctx: LaunchContext) -> str:
        return str(ctx.workspace.hooks_dir / f"shell-{ctx.agent.name}.bashrc")

    def prepare(self, ctx: LaunchContext) -> None:
        ctx.workspace.private_dir("hooks")
        hook = shlex.join([*missionctl_argv(), "hook"])
        bin_dir = shlex.quote(str(Path(sys.executable).parent))
        rc = RC.format(agent=ctx.agent.name, hook=hook, bin_dir=bin_dir)
        write_private(Path(self._rc(ctx)), rc)

    def command(self, ctx: LaunchContext) -> list[str]:
        if ctx.settings.command:
            return list(ctx.settings.command)
        return ["bash", "--rcfile", self._rc(ctx), "-i"]

    def env(self, ctx: LaunchContext) -> dict[str, str]:
        return dict(ctx.settings.env)
