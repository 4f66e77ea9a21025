"""One git branch and worktree per agent: create, status, diff, merge, clean.

Branch `<org>/<agent>` forks from the org's base branch; its worktree lives at
`.missionctl/worktrees/<agent>`. Everything goes through the real `git`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from missionctl import proc
from missionctl.errors import UserError
from missionctl.orgfile import OrgSpec
from missionctl.workspace import Workspace

_SHORTSTAT = re.compile(r"(\d+) (file|insertion|deletion)")


@dataclass(frozen=True)
class WorktreeStatus:
    """Where an agent's branch and worktree stand against the base branch."""

    agent: str
    branch: str
    path: str
    exists: bool
    branch_exists: bool
    ahead: int = 0
    behind: int = 0
    dirty: bool = False
    files_changed: int = 0
    insertions: int = 0
    deletions: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class AgentWorktrees:
    """The agents' branches and worktrees in one workspace."""

    def __init__(self, workspace: Workspace, org: OrgSpec) -> None:
        self.ws = workspace
        self.org = org

    # -- naming ---------------------------------------------------------------
    def branch(self, agent: str) -> str:
        self.org.agent(agent)  # unknown agents are a clear error, not a stray branch
        return f"{self.org.name}/{agent}"

    def path(self, agent: str) -> Path:
        self.org.agent(agent)
        return self.ws.worktree(agent)

    # -- git plumbing ---------------------------------------------------------
    def _git(self, *args: str, cwd: Path | None = None, check: bool = True) -> str:
        where = cwd or self.ws.root
        return proc.run(["git", "-C", str(where), *args], timeout=60, check=check).stdout

    def _ref_exists(self, ref: str) -> bool:
        out = proc.run(
            ["git", "-C", str(self.ws.root), "rev-parse", "--verify", "-q", f"{ref}^{{commit}}"],
            check=False,
        )
        return out.returncode == 0

    def _base_ref(self) -> str:
        ref = f"refs/heads/{self.org.base_branch}"
        if not self._ref_exists(ref):
            raise UserError(
                f"the base branch {self.org.base_branch!r} does not exist or has no commits yet;"
                " commit the org first (`git add org && git commit -m 'missionctl org'`),"
                " or set base_branch in org/org.toml"
            )
        return ref

    def _registered(self) -> set[Path]:
        out = self._git("worktree", "list", "--porcelain")
        return {
            Path(line[len("worktree ") :]).resolve()
            for line in out.splitlines()
            if line.startswith("worktree ")
        }

    def _is_worktree(self, agent: str) -> bool:
        path = self.ws.worktree(agent)
        return path.is_dir() and path.resolve() in self._registered()

    # -- verbs ------------------------------------------------------------------
    def create(self, agent: str) -> bool:
        """Make the agent's branch and worktree if missing; True if anything was made."""
        branch, path = self.branch(agent), self.path(agent)
        base = self._base_ref()
        if self._is_worktree(agent):
            return False
        if path.exists() and any(path.iterdir()):
            raise UserError(
                f"{path} exists but is not a git worktree of this repository;"
                " move it out of the way and try again"
            )
        self._git("worktree", "prune")  # forget worktrees whose folders were deleted
        path.parent.mkdir(parents=True, exist_ok=True)
        if self._ref_exists(f"refs/heads/{branch}"):
            self._git("worktree", "add", "-q", str(path), branch)
        else:
            self._git("worktree", "add", "-q", "-b", branch, str(path), base)
        return True

    def status(self, agent: str) -> WorktreeStatus:
        """The agent's branch and worktree against the base branch."""
        branch, path = self.branch(agent), self.path(agent)
        base = self._base_ref()
        exists = self._is_worktree(agent)
        if not self._ref_exists(f"refs/heads/{branch}"):
            return WorktreeStatus(agent, branch, str(path), exists, False)
        counts = self._git("rev-list", "--left-right", "--count", f"{base}...refs/heads/{branch}")
        behind, ahead = (int(n) for n in counts.split())
        dirty = False
        stat_args = ["diff", "--shortstat", self._merge_base(branch)]
        if exists:
            dirty = bool(self._git("status", "--porcelain", cwd=path).strip())
            shortstat = self._git(*stat_args, cwd=path)
        else:
            shortstat = self._git(*stat_args, f"refs/heads/{branch}")
        numbers = {kind: int(n) for n, kind in _SHORTSTAT.findall(shortstat)}
        return WorktreeStatus(
            agent,
            branch,
            str(path),
            exists,
            True,
            ahead=ahead,
            behind=behind,
            dirty=dirty,
            files_changed=numbers.get("file", 0),
            insertions=numbers.get("insertion", 0),
            deletions=numbers.get("deletion", 0),
        )

    def statuses(self) -> list[WorktreeStatus]:
        return [self.status(a.name) for a in self.org.agents]

    def _merge_base(self, branch: str) -> str:
        return self._git("merge-base", self._base_ref(), f"refs/heads/{branch}").strip()

    def diff(self, agent: str) -> str:
        """The agent's changes since it forked: its commits plus uncommitted edits."""
        branch = self.branch(agent)
        if not self._ref_exists(f"refs/heads/{branch}"):
            raise UserError(f"{agent} has no branch yet; run `missionctl worktrees create {agent}`")
        if self._is_worktree(agent):
            return self._git("diff", self._merge_base(branch), cwd=self.path(agent))
        return self._git("diff", self._merge_base(branch), f"refs/heads/{branch}")

    def untracked(self, agent: str) -> list[str]:
        if not self._is_worktree(agent):
            return []
        out = self._git("ls-files", "--others", "--exclude-standard", cwd=self.path(agent))
        return out.splitlines()

    def merge(self, agent: str) -> str:
        """Merge the agent's branch into the base branch checked out in the workspace.

        Returns the new commit of the base branch. A conflict aborts the merge and
        leaves both branches as they were.
        """
        branch, base = self.branch(agent), self.org.base_branch
        self._base_ref()
        head = self._git("symbolic-ref", "--short", "-q", "HEAD", check=False).strip()
        if head != base:
            where = f"on branch {head!r}" if head else "on a detached HEAD"
            raise UserError(
                f"the workspace is {where}, not on the base branch {base!r};"
                f" check it out first (`git switch {base}`)"
            )
        if self._git("status", "--porcelain", "--untracked-files=no").strip():
            raise UserError(
                f"the workspace has uncommitted changes on {base!r}; commit or stash them"
                " before merging"
            )
        if not self._ref_exists(f"refs/heads/{branch}"):
            raise UserError(f"{agent} has no branch {branch!r}; there is nothing to merge")
        if (
            self._is_worktree(agent)
            and self._git(
                "status", "--porcelain", "--untracked-files=no", cwd=self.path(agent)
            ).strip()
        ):
            raise UserError(
                f"{agent}'s worktree has uncommitted changes that a merge would leave behind;"
                f" commit them on {branch!r} first"
            )
        already = proc.run(
            ["git", "-C", str(self.ws.root), "merge-base", "--is-ancestor", branch, "HEAD"],
            check=False,
        )
        if already.returncode == 0:
            raise UserError(f"{branch!r} is already merged into {base!r}; nothing to merge")
        result = proc.run(
            [
                "git", "-C", str(self.ws.root), "merge", "--no-ff", "--no-edit",
                "-m", f"Merge {agent}'s work ({branch})", branch,
            ],
            timeout=120,
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            conflicted = self._git("diff", "--name-only", "--diff-filter=U").split()
            if not conflicted:  # git refused before merging anything: say why, in its words
                reason = (result.stderr or result.stdout).strip().splitlines()
                raise UserError(
                    f"git could not merge {branch!r} into {base!r}:"
                    f" {reason[-1] if reason else f'exit code {result.returncode}'}"
                )
            self._git("merge", "--abort", check=False)
            files = ", ".join(conflicted)
            raise UserError(
                f"merging {branch!r} into {base!r} conflicts in {files}; the merge was aborted"
                f" and both branches are unchanged: rebase {branch!r} onto {base!r} in"
                f" {self.path(agent)} and merge again"
            )
        return self._git("rev-parse", "HEAD").strip()

    def clean(self, agent: str, *, force: bool = False) -> list[str]:
        """Remove the agent's worktree and branch; refuses unsaved work unless `force`.

        Returns what was removed.
        """
        branch, path = self.branch(agent), self.path(agent)
        base = self._base_ref()
        has_tree = self._is_worktree(agent)
        has_branch = self._ref_exists(f"refs/heads/{branch}")
        if not has_tree and not has_branch:
            raise UserError(f"{agent} has no worktree and no branch; nothing to clean")
        if not force:
            if has_tree and self._git("status", "--porcelain", cwd=path).strip():
                raise UserError(
                    f"{agent}'s worktree {path} has uncommitted or untracked files;"
                    " commit them, or pass --force to throw them away"
                )
            merged = proc.run(
                ["git", "-C", str(self.ws.root), "merge-base", "--is-ancestor", branch, base],
                check=False,
            )
            if has_branch and merged.returncode != 0:
                raise UserError(
                    f"{branch!r} has commits that are not merged into {self.org.base_branch!r};"
                    f" merge it (`missionctl worktrees merge {agent}`), or pass --force to"
                    " delete them"
                )
        removed = []
        if has_tree:
            self._git("worktree", "remove", *(["--force"] if force else []), str(path))
            removed.append(f"worktree {path}")
        if has_branch:
            # Merged-ness was checked against the base above (`-d` checks against HEAD).
            self._git("branch", "-D", branch)
            removed.append(f"branch {branch}")
        return removed
