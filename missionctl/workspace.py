"""The workspace: the user's research repository and missionctl's paths inside it.

`org/` is versioned (the org's source code); `.missionctl/` is runtime state,
git-ignored: mailbox, worktrees, runs, ledger, tmux config and hooks.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from missionctl import orgfile
from missionctl.errors import UserError
from missionctl.files import PRIVATE_DIR_MODE, make_private_dir
from missionctl.names import ENV_AGENT, ENV_WORKSPACE

__all__ = ["ENV_AGENT", "ENV_WORKSPACE", "ORG_DIR", "RUNTIME_DIR", "Workspace", "find"]

ORG_DIR = "org"
RUNTIME_DIR = ".missionctl"


class _Below:
    """A workspace path read as an attribute: `name` below the path attribute `base`."""

    def __init__(self, base: str, name: str) -> None:
        self.base = base
        self.name = name

    def __get__(self, ws: Workspace, owner: type[Workspace] | None = None) -> Path:
        below: Path = getattr(ws, self.base)
        return below / self.name


@dataclass(frozen=True)
class Workspace:
    """Paths of one workspace; `root` is the repository's top-level directory."""

    root: Path

    # The layout, each path below another: (what it is below, its name).
    org_dir = _Below("root", ORG_DIR)
    org_file = _Below("org_dir", "org.toml")
    prompts_dir = _Below("org_dir", "prompts")
    runtime = _Below("root", RUNTIME_DIR)
    mailbox_dir = _Below("runtime", "mailbox")
    worktrees_dir = _Below("runtime", "worktrees")
    runs_dir = _Below("runtime", "runs")
    state_dir = _Below("runtime", "state")  # per-agent state files written by `missionctl hook`
    ledger_path = _Below("runtime", "ledger.sqlite")
    tmux_conf = _Below("runtime", "tmux.conf")
    hooks_dir = _Below("runtime", "hooks")
    logs_dir = _Below("runtime", "logs")

    @property
    def socket_name(self) -> str:
        """The tmux server's socket name (`tmux -L`), unique per workspace path."""
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:10]
        return f"missionctl-{digest}"

    def worktree(self, agent: str) -> Path:
        return self.worktrees_dir / agent

    def agent_config(self, agent: str) -> Path:
        """The agent's own CLI configuration (CODEX_HOME, CLAUDE_CONFIG_DIR live here),
        outside its worktree so that its sandboxed commands cannot rewrite it."""
        return self.runtime / "agent-config" / agent

    def private_dir(self, *parts: str) -> Path:
        """The runtime folder (or the folder `parts` inside it), made 0700 when missing.

        Refuses (`UserError`) a runtime folder that another user owns or can write:
        hook rcfiles, tmux.conf and mail there run as code in the agents. One the
        user owns that others can only read (made under an older umask) is made
        private. Every entry point that uses the runtime calls this first.
        """
        runtime = self.runtime
        make_private_dir(runtime)
        info = runtime.stat()  # a link to a folder elsewhere is judged by that folder
        mode = stat.S_IMODE(info.st_mode)
        if info.st_uid != os.geteuid():
            raise UserError(
                f"{runtime} belongs to another user (uid {info.st_uid}); missionctl runs agents"
                " only from a runtime folder of your own: move it away and run again"
            )
        if mode & 0o022:
            raise UserError(
                f"{runtime} can be written by other users (mode {mode:04o}), who could plant"
                f" hooks and mail that run as you; check what is inside, then"
                f" `chmod 700 {runtime}` and run again"
            )
        if mode != PRIVATE_DIR_MODE:
            os.chmod(runtime, PRIVATE_DIR_MODE)  # readable by others: state, prompts, diffs
        return make_private_dir(runtime.joinpath(*parts)) if parts else runtime

    def load_org(self) -> orgfile.OrgSpec:
        """The workspace's validated `org/org.toml`."""
        return orgfile.load(self.org_file)


def find(start: Path | None = None) -> Workspace:
    """The workspace containing `start` (default: `$MISSIONCTL_WORKSPACE`, else the cwd).

    An agent's worktree lives under `<root>/.missionctl/worktrees/<agent>` and is a
    checkout of the same repository, `org/` included: the search skips past it to
    the workspace that owns it.
    """
    if start is None:
        env = os.environ.get(ENV_WORKSPACE)
        if env:
            root = Path(env).resolve()
            if not (root / ORG_DIR / "org.toml").is_file():
                raise UserError(
                    f"{ENV_WORKSPACE}={env} is not a missionctl workspace (no org/org.toml)"
                )
            return Workspace(root)
        start = Path.cwd()
    here = start.resolve()
    parts = here.parts
    if RUNTIME_DIR in parts:
        # Inside .missionctl/: the owner is the directory above it.
        here = Path(*parts[: parts.index(RUNTIME_DIR)])
    for candidate in (here, *here.parents):
        if (candidate / ORG_DIR / "org.toml").is_file():
            return Workspace(candidate)
    raise UserError(
        f"{start} is not inside a missionctl workspace; run `missionctl init` in your"
        " research repository first"
    )
