"""`missionctl` with no arguments (or `missionctl app`): open the grid on this workspace."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from missionctl import orgfile, workspace
from missionctl.agents.org.facade import Org
from missionctl.cliargs import parser
from missionctl.errors import UserError


def main(argv: list[str]) -> int:
    ap = parser("app", "Open mission control: the live grid of the org's agents.")
    ap.add_argument("--yes", "-y", action="store_true", help="start the org without asking")
    ap.add_argument("--no-start", action="store_true", help="never start the org; just watch")
    ap.add_argument("--screenshot", type=Path, metavar="SVG", help="save a screenshot, then quit")
    ap.add_argument("--after", type=float, default=10.0, metavar="SECONDS", help="(default 10)")
    ap.add_argument(
        "--screen",
        choices=("grid", "ledger"),
        default="grid",
        help="the screen to open on (with --screenshot: the one saved)",
    )
    args = ap.parse_args(argv)
    # `missionctl serve` runs the app behind a browser: textual-serve's web driver.
    served = "web_driver" in os.environ.get("TEXTUAL_DRIVER", "")
    if not sys.stdout.isatty() and not served:
        raise UserError(
            "the app needs a terminal; run `missionctl status` for a plain view,"
            " or `missionctl serve` for the grid in a browser"
        )
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
                    "Not started: `missionctl up` starts it, `missionctl app --no-start` watches."
                )
                return 0
        for name, what in org.up():
            print(f"{name}: {what}")
    return _run_app(org, args.screenshot, args.after, args.screen)


def _run_app(
    org: Org, screenshot: Path | None = None, after: float = 10.0, screen: str = "grid"
) -> int:
    """Run the grid until the user quits (or, with `screenshot`, save one and quit)."""
    from missionctl.tui.app import MissionControlApp

    app = MissionControlApp(org, start_screen=screen)
    if screenshot is not None:
        shot = screenshot

        def save() -> None:
            app.save_screenshot(shot.name, str(shot.parent.resolve()))
            app.exit(None, 0, f"saved {shot}; the org keeps running")

        app.call_later(lambda: app.set_timer(after, save))
    app.run()
    return app.return_code or 0


def demo(argv: list[str]) -> int:
    ap = parser(
        "demo",
        "Make an offline demo research org (a chief and seven scripted researchers answering\n"
        "the softcap question with real CPU training runs), start it, and open the app.",
    )
    ap.add_argument(
        "path",
        nargs="?",
        default="missionctl-demo",
        help="where to make it (default ./missionctl-demo; reused if it is a demo)",
    )
    ap.add_argument("--no-app", action="store_true", help="start the org without the app")
    ap.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="with --no-app: wait up to SECONDS for the chief's verdict and print it",
    )
    ap.add_argument("--researchers", type=int, default=7, help="how many (default 7)")
    ap.add_argument("--preset", default="cpu-tiny", help="training preset (default cpu-tiny)")
    ap.add_argument(
        "--seeds",
        help="seeds on both arms, like 1,2,3 (default: as many as org/program.md's noise table"
        " gives for the preset)",
    )
    ap.add_argument(
        "--executor",
        choices=orgfile.EXECUTORS,
        default="local",
        help="where the runs train: here (default), or as jobs on this machine's Slurm cluster",
    )
    args = ap.parse_args(argv)
    from missionctl.agents.demo import workspace as demo_org

    if not args.no_app and not sys.stdout.isatty():
        raise UserError("the app needs a terminal; use `missionctl demo --no-app` without one")
    _check_plan(args.preset, args.seeds)
    if args.executor == "slurm":
        from missionctl.train.slurm import client

        print(f"runs go to Slurm: {client.check_cluster()}")
    ws, made = demo_org.make_workspace(
        Path(args.path),
        researchers=args.researchers,
        preset=args.preset,
        seeds=args.seeds,
        executor=args.executor,
    )
    print(f"{'made' if made else 'reusing'} the demo workspace {ws.root}")
    org = Org(ws)
    for name, what in org.up():
        print(f"  {name}: {what}")
    if args.no_app:
        print(
            f"the demo org is running. Watch it: cd {ws.root} && missionctl"
            f" (or `missionctl status`); stop it: missionctl down"
        )
        if args.wait:
            message = demo_org.wait_for_verdict(ws, args.wait)
            print(f"\nverdict from {message.sender}:\n{message.body}")
        return 0
    return _run_app(org)


def _check_plan(preset: str, seeds: str | None) -> None:
    """Bad --preset or --seeds: a clear error before anything is made."""
    from missionctl.train.config import PRESETS

    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; the presets are: {', '.join(PRESETS)}")
    if seeds is None:
        return
    parts = [s.strip() for s in seeds.split(",")]
    if not parts or not all(p.isdigit() for p in parts) or len(set(parts)) != len(parts):
        raise UserError(f"--seeds {seeds!r}: give distinct whole numbers, like 1,2,3")
    if len(parts) < 2:
        raise UserError(f"--seeds {seeds!r}: an experiment pairs at least 2 seeds, like 1,2,3")
