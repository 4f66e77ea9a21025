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
from missionctl.workspace import RUNTIME_DIR, Workspace

# Every path git reads here is relative to the repository's top, whatever the cwd.
_RUNTIME_PATHSPEC = f":(top){RUNTIME_DIR}"
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
    # Files under `.missionctl/` the branch changed: a merge would plant them in the
    # org's runtime folder (forged mail, hook rcfiles), so `merge` refuses them.
    runtime_files: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class AgentWorktrees:
    """The agents' branches and worktrees in one workspace."""

    def __init__(self, workspace: Workspace, org: OrgSpec) -> None:
        self.ws = workspace
        self.org = org

    # -- naming ---------------------------------------------------------------
    def branch(self, agent: str) -> str:
        return self.org.branch(agent)  # unknown agents are a clear error, not a stray branch

    def path(self, agent: str) -> Path:
        self.org.agent(agent)
        return self.ws.worktree(agent)

    def branch_ref(self, agent: str) -> str:
        """The branch's full ref name. Git resolves a short name as `refs/<name>` or a
        tag before `refs/heads/<name>`, and any agent can create those to shadow
        another's branch: every command here names the branch in full."""
        return f"refs/heads/{self.branch(agent)}"

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
            # The short name on purpose: given `refs/heads/...` git would detach HEAD, and
            # `worktree add` looks the name up among branches only, so no tag can shadow it.
            self._git("worktree", "add", "-q", str(path), branch)
        else:
            self._git("worktree", "add", "-q", "-b", branch, str(path), base)
        return True

    def status(self, agent: str) -> WorktreeStatus:
        """The agent's branch and worktree against the base branch."""
        branch, ref, path = self.branch(agent), self.branch_ref(agent), self.path(agent)
        base = self._base_ref()
        exists = self._is_worktree(agent)
        if not self._ref_exists(ref):
            return WorktreeStatus(agent, branch, str(path), exists, False)
        counts = self._git("rev-list", "--left-right", "--count", f"{base}...{ref}")
        behind, ahead = (int(n) for n in counts.split())
        dirty = False
        stat_args = ["diff", "--shortstat", self._merge_base(ref)]
        if exists:
            dirty = bool(self._git("status", "--porcelain", cwd=path).strip())
            shortstat = self._git(*stat_args, cwd=path)
        else:
            shortstat = self._git(*stat_args, ref)
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
            runtime_files=tuple(self.runtime_files(agent)),
        )

    def statuses(self) -> list[WorktreeStatus]:
        return [self.status(a.name) for a in self.org.agents]

    def _merge_base(self, ref: str) -> str:
        return self._git("merge-base", self._base_ref(), ref).strip()

    def _changed_runtime_files(self, *diff_args: str, cwd: Path | None = None) -> set[str]:
        out = self._git(
            "diff", "--name-only", "--no-renames", "-z", *diff_args, "--", _RUNTIME_PATHSPEC,
            cwd=cwd,
        )  # fmt: skip
        return {name for name in out.split("\0") if name}

    def _runtime_files_between(self, target: str, ref: str) -> list[str]:
        """Runtime files `ref` changed since any merge base with `target`: what merging it
        into `target` could write. Every base counts, so criss-cross history hides none."""
        bases = self._git("merge-base", "--all", target, ref, check=False).split()
        found: set[str] = set()
        for base in bases or [self._git("hash-object", "-t", "tree", "/dev/null").strip()]:
            found |= self._changed_runtime_files(base, ref)
        return sorted(found)

    def runtime_files(self, agent: str) -> list[str]:
        """Files under `.missionctl/` the agent's branch (or its worktree's uncommitted
        tracked edits) changed since it forked from the base branch."""
        ref = self.branch_ref(agent)
        if not self._ref_exists(ref):
            return []
        found = set(self._runtime_files_between(self._base_ref(), ref))
        if self._is_worktree(agent):
            found |= self._changed_runtime_files(self._merge_base(ref), cwd=self.path(agent))
        return sorted(found)

    def diff(self, agent: str) -> str:
        """The agent's changes since it forked: its commits plus uncommitted edits."""
        ref = self.branch_ref(agent)
        if not self._ref_exists(ref):
            raise UserError(f"{agent} has no branch yet; run `missionctl worktrees create {agent}`")
        if self._is_worktree(agent):
            return self._git("diff", self._merge_base(ref), cwd=self.path(agent))
        return self._git("diff", self._merge_base(ref), ref)

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
        branch, ref, base = self.branch(agent), self.branch_ref(agent), self.org.base_branch
        base_ref = self._base_ref()
        # In full: `--short` turns refs/heads/main into "heads/main" when a tag is "main".
        head = self._git("symbolic-ref", "-q", "HEAD", check=False).strip()
        if head != base_ref:
            short = head.removeprefix("refs/heads/")
            where = f"on branch {short!r}" if head else "on a detached HEAD"
            raise UserError(
                f"the workspace is {where}, not on the base branch {base!r};"
                f" check it out first (`git switch {base}`)"
            )
        if self._git("status", "--porcelain", "--untracked-files=no").strip():
            raise UserError(
                f"the workspace has uncommitted changes on {base!r}; commit or stash them"
                " before merging"
            )
        if not self._ref_exists(ref):
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
            ["git", "-C", str(self.ws.root), "merge-base", "--is-ancestor", ref, "HEAD"],
            check=False,
        )
        if already.returncode == 0:
            raise UserError(f"{branch!r} is already merged into {base!r}; nothing to merge")
        planted = self._runtime_files_between("HEAD", ref)
        if planted:
            more = f" and {len(planted) - 5} more" if len(planted) > 5 else ""
            shown = ", ".join(planted[:5]) + more
            raise UserError(
                f"{branch!r} changes missionctl's runtime folder ({shown}), which holds the org's"
                f" mail, hooks and state: nothing was merged; remove those files from the branch"
                f" (`git rm -r --cached {RUNTIME_DIR}` in {self.path(agent)}, then commit) and"
                " merge again"
            )
        result = proc.run(
            [
                "git", "-C", str(self.ws.root), "merge", "--no-ff", "--no-edit",
                "-m", f"Merge {agent}'s work ({branch})", ref,
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
        branch, ref, path = self.branch(agent), self.branch_ref(agent), self.path(agent)
        base = self._base_ref()
        has_tree = self._is_worktree(agent)
        has_branch = self._ref_exists(ref)
        if not has_tree and not has_branch:
            raise UserError(f"{agent} has no worktree and no branch; nothing to clean")
        if not force:
            if has_tree and self._git("status", "--porcelain", cwd=path).strip():
                raise UserError(
                    f"{agent}'s worktree {path} has uncommitted or untracked files;"
                    " commit them, or pass --force to throw them away"
                )
            merged = proc.run(
                ["git", "-C", str(self.ws.root), "merge-base", "--is-ancestor", ref, base],
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
