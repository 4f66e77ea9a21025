"""`missionctl worktrees`: the agents' branches and worktrees from the shell."""

from __future__ import annotations

import json
import sys

from missionctl import workspace
from missionctl.cliargs import parser
from missionctl.errors import UserError
from missionctl.textable import format_table
from missionctl.workspace import RUNTIME_DIR
from missionctl.worktrees.tree import AgentWorktrees


def main(argv: list[str]) -> int:
    ap = parser("worktrees", "The agents' git branches and worktrees.")
    verbs = ap.add_subparsers(dest="verb", metavar="VERB")
    ls = verbs.add_parser("list", help="branch, ahead/behind base, dirty, diffstat per agent")
    ls.add_argument("--json", action="store_true", help="print JSON")
    create = verbs.add_parser("create", help="create worktrees (idempotent)")
    create.add_argument("agents", nargs="*", metavar="AGENT")
    create.add_argument("--all", action="store_true", help="every agent of the org")
    diff = verbs.add_parser("diff", help="an agent's changes since it forked (with uncommitted)")
    diff.add_argument("agent", metavar="AGENT")
    merge = verbs.add_parser("merge", help="merge an agent's branch into the base branch")
    merge.add_argument("agent", metavar="AGENT")
    clean = verbs.add_parser("clean", help="remove an agent's worktree and branch")
    clean.add_argument("agent", metavar="AGENT")
    clean.add_argument("--force", action="store_true", help="even with unsaved or unmerged work")
    args = ap.parse_args(argv)

    ws = workspace.find()
    trees = AgentWorktrees(ws, ws.load_org())
    verb = args.verb or "list"
    if verb == "list":
        rows = trees.statuses()
        if getattr(args, "json", False):
            print(json.dumps([r.to_json() for r in rows], indent=2))
            return 0
        print(
            format_table(
                ["agent", "branch", "worktree", "ahead", "behind", "dirty", "diffstat", "warning"],
                [
                    [
                        r.agent,
                        r.branch if r.branch_exists else f"{r.branch} (none)",
                        "yes" if r.exists else "no",
                        r.ahead,
                        r.behind,
                        "yes" if r.dirty else "no",
                        f"{r.files_changed} files +{r.insertions} -{r.deletions}",
                        f"touches {RUNTIME_DIR}/ (merge refuses)" if r.runtime_files else None,
                    ]
                    for r in rows
                ],
            )
        )
    elif verb == "create":
        if args.all == bool(args.agents):
            raise UserError("worktrees create: name the agents, or pass --all (not both)")
        names = trees.org.names if args.all else args.agents
        for name in names:
            made = trees.create(name)
            state = "created" if made else "already there"
            print(f"{name}: {state} ({trees.branch(name)} at {trees.path(name)})")
    elif verb == "diff":
        sys.stdout.write(trees.diff(args.agent))
        untracked = trees.untracked(args.agent)
        if untracked:
            print(f"untracked in {args.agent}'s worktree: {', '.join(untracked)}", file=sys.stderr)
        planted = trees.runtime_files(args.agent)
        if planted:
            print(
                f"warning: {args.agent}'s changes touch {RUNTIME_DIR}/ ({', '.join(planted)});"
                " merge will refuse them",
                file=sys.stderr,
            )
    elif verb == "merge":
        commit = trees.merge(args.agent)
        print(f"merged {trees.branch(args.agent)} into {trees.org.base_branch} ({commit[:12]})")
    elif verb == "clean":
        for what in trees.clean(args.agent, force=args.force):
            print(f"removed {what}")
    return 0
