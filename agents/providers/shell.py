"""A plain interactive bash that reports working/idle through `missionctl hook`."""

from __future__ import annotations

import shlex

from missionctl.agents.providers.base import LaunchContext, missionctl_argv

# PS0 runs after a command line is read, before it executes; PROMPT_COMMAND before
# each prompt. Both run the same hook the coding agents call, in the background so
# the shell never waits on it; the shell's own clock orders the events.
RC = """\
# missionctl: a login-like interactive shell for agent {agent}
[ -f /etc/profile ] && . /etc/profile
[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"
__mc_hook() {{ ( {hook} "$1" --ts "$EPOCHREALTIME" </dev/null >/dev/null 2>&1 & ) }}
PROMPT_COMMAND="__mc_hook idle${{PROMPT_COMMAND:+; $PROMPT_COMMAND}}"
PS0='$(__mc_hook working)'
PS1='{agent}$ '
"""


class Shell:
    name = "shell"
    submit_delay = 0.05
    # A notice typed into bash must never run: it goes in as a comment.
    notice_prefix = "# "
    reports_work = True  # PS0 reports each command
    has_prompt_hook = False

    def check(self, ctx: LaunchContext) -> None:
        """bash is always there where tmux is."""

    def _rc(self, ctx: LaunchContext) -> str:
        return str(ctx.workspace.hooks_dir / f"shell-{ctx.agent.name}.bashrc")

    def prepare(self, ctx: LaunchContext) -> None:
        ctx.workspace.hooks_dir.mkdir(parents=True, exist_ok=True)
        hook = shlex.join([*missionctl_argv(), "hook"])
        with open(self._rc(ctx), "w", encoding="utf-8") as fh:
            fh.write(RC.format(agent=ctx.agent.name, hook=hook))

    def command(self, ctx: LaunchContext) -> list[str]:
        if ctx.settings.command:
            return list(ctx.settings.command)
        return ["bash", "--rcfile", self._rc(ctx), "-i"]

    def env(self, ctx: LaunchContext) -> dict[str, str]:
        return dict(ctx.settings.env)
