"""`missionctl status`: the org's agents and where each one stands."""

from __future__ import annotations

import json

from missionctl import workspace
from missionctl.cliargs import parser
from missionctl.textable import format_table


def main(argv: list[str]) -> int:
    ap = parser("status", "Show the org's agents.")
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args(argv)
    ws = workspace.find()
    org = ws.load_org()
    rows = [
        {
            "name": a.name,
            "role": a.role,
            "provider": a.provider,
            "gpu": a.gpu,
            "branch": f"{org.name}/{a.name}",
            "worktree": ws.worktree(a.name).is_dir(),
        }
        for a in org.agents
    ]
    if args.json:
        print(json.dumps({"org": org.name, "structure": org.structure, "agents": rows}, indent=2))
        return 0
    print(f"org {org.name} ({org.structure}, {len(rows)} agents) at {ws.root}")
    print(
        format_table(
            ["agent", "role", "provider", "gpu", "branch", "worktree"],
            [
                [r["name"], r["role"], r["provider"], r["gpu"], r["branch"],
                 "yes" if r["worktree"] else "no"]
                for r in rows
            ],
        )
    )  # fmt: skip
    return 0
