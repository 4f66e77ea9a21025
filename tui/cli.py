"""`missionctl` with no arguments (or `missionctl app`): open the grid on this workspace."""

from __future__ import annotations

import sys

from missionctl import workspace
from missionctl.agents.org import Org
from missionctl.cliargs import parser
from missionctl.errors import UserError


def main(argv: list[str]) -> int:
    ap = parser("app", "Open mission control: the live grid of the org's agents.")
    ap.add_argument("--yes", "-y", action="store_true", help="start the org without asking")
    ap.add_argument("--no-start", action="store_true", help="never start the org; just watch")
    args = ap.parse_args(argv)
    ws = workspace.find()
    org = Org(ws)
    if not org.is_up() and not args.no_start:
        if not args.yes:
            if not sys.stdin.isatty():
                raise UserError(
                    "the org is not running; start it with `missionctl up`, or pass --yes"
                )
            answer = input(f"The org {org.name!r} is not running. Start it now? [Y/n] ")
            if answer.strip().lower() not in ("", "y", "yes"):
                print(
                    "Not started. `missionctl up` starts it; `missionctl --no-start` just watches."
                )
                return 0
        for name, what in org.up():
            print(f"{name}: {what}")
    if not sys.stdout.isatty():
        raise UserError("the app needs a terminal; run `missionctl status` for a plain view")
    from missionctl.tui.app import MissionControlApp

    MissionControlApp(org).run()
    return 0
