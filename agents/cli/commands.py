"""`missionctl up|down|status|pause|resume|kill|restart|attach`: the org from the shell."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable

from missionctl.agents.org.hub import Hub
from missionctl.agents.process import tree as proctree
from missionctl.agents.tmux.server import env_outside_tmux
from missionctl.cliargs import parser
from missionctl.errors import UserError
from missionctl.ledger.spend import Spend, agent_spend, budget_warning
from missionctl.textable import format_table
from missionctl.units import duration, plural, si

# Providers whose agents use a model (and so have tokens and a cost).
_MODEL_PROVIDERS = ("claude", "codex", "anthropic", "openai")


def up(argv: list[str]) -> int:
    parser("up", "Start the org: the tmux hub, the supervisor and every agent.").parse_args(argv)
    hub = Hub.find()
    for name, what in hub.up():
        print(f"{name}: {what}")
    print(f"the org runs in tmux -L {hub.ws.socket_name}")
    print("`missionctl` shows it; `missionctl down` stops it")
    return 0


def down(argv: list[str]) -> int:
    ap = parser("down", "Stop every agent, the supervisor and the hub's tmux server.")
    ap.add_argument("--grace", type=float, default=5.0, help="seconds between TERM and KILL")
    args = ap.parse_args(argv)
    hub = Hub.find()
    if not hub.tmux.server_running() and not hub.leftovers():
        # Its jobs may outlive it on Slurm: those are stopped all the same.
        jobs = hub.down(grace=args.grace) if hub.on_slurm else []
        print("the org is not running" + (f"; stopped {', '.join(jobs)}" if jobs else ""))
        return 0
    stopped = hub.down(grace=args.grace)
    print(f"stopped {', '.join(stopped) if stopped else 'nothing'}; the hub is down")
    return 0


def status(argv: list[str]) -> int:
    ap = parser("status", "Show each agent: state, provider, pid, branch, GPU, uptime.")
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args(argv)
    hub = Hub.find()
    running = hub.is_up()
    rows = hub.statuses()
    supervisor = hub.supervisor_state()
    left = sorted(proctree.hub_process_name(p) for p in hub.leftovers())
    specs = {a.name: a for a in hub.org.agents}
    spends: dict[str, Spend | None] = {
        r.name: agent_spend(hub.ws.root, hub.org, r.name)
        if r.provider in _MODEL_PROVIDERS
        else None
        for r in rows
    }
    warnings = {
        name: budget_warning(spend, specs[name].budget_usd, specs[name].budget_tokens)
        if spend is not None
        else None
        for name, spend in spends.items()
    }
    if args.json:
        print(
            json.dumps(
                {
                    "org": hub.org.name,
                    "structure": hub.org.structure,
                    "running": running,
                    "workspace": str(hub.ws.root),
                    "supervisor": {"state": supervisor.name, "detail": supervisor.detail},
                    "left_running": left,
                    "agents": [
                        {
                            "name": r.name,
                            "role": r.role,
                            "provider": r.provider,
                            "state": r.state.name,
                            "detail": r.state.detail,
                            "exit_code": r.state.exit_code,
                            "pid": r.pid,
                            "branch": r.branch,
                            "gpu": r.gpu,
                            "uptime_s": r.uptime_s,
                            "spend": spend.to_json() if (spend := spends[r.name]) else None,
                            "budget": {
                                "usd": specs[r.name].budget_usd,
                                "tokens": specs[r.name].budget_tokens,
                                "warning": warnings[r.name],
                            },
                        }
                        for r in rows
                    ],
                },
                indent=2,
            )
        )
        return 0
    where = "running" if running else "not running (`missionctl up` starts it)"
    print(f"org {hub.org.name} ({hub.org.structure}, {len(rows)} agents) at {hub.ws.root}: {where}")
    if supervisor.is_exited:
        print(f"the supervisor has died ({supervisor.name}): {supervisor.detail}")
    if left:
        print(
            f"left running by a hub that died: {', '.join(left)};"
            " `missionctl down` ends them (`missionctl up` does too, before it starts)"
        )
    print(
        format_table(
            ["agent", "state", "role", "provider", "pid", "branch", "gpu", "uptime", "tokens",
             "cost", "why"],
            [
                [r.name, r.state.name, r.role, r.provider, r.pid, r.branch, r.gpu,
                 duration(r.uptime_s) if r.uptime_s is not None else None,
                 si(s.tokens.total) if (s := spends[r.name]) else None,
                 s.cost_text if s else None,
                 r.state.detail or warnings[r.name]]
                for r in rows
            ],
        )
    )  # fmt: skip
    return 0


def _one_agent(command: str, description: str, argv: list[str]) -> tuple[Hub, str]:
    ap = parser(command, description)
    ap.add_argument("agent", metavar="AGENT")
    args = ap.parse_args(argv)
    return Hub.find(), args.agent


def _said(agent: str, what: str) -> int:
    print(f"{agent}: {what}")
    return 0


def pause(argv: list[str]) -> int:
    hub, agent = _one_agent("pause", "Freeze every process of an agent.", argv)
    return _said(agent, f"paused ({plural(len(hub.pause(agent)), 'process')} stopped)")


def _act(
    command: str, description: str, argv: list[str], act: Callable[[Hub, str], object], done: str
) -> int:
    """A command that does one thing to one agent and says it is done."""
    hub, agent = _one_agent(command, description, argv)
    act(hub, agent)
    return _said(agent, done)


def resume(argv: list[str]) -> int:
    return _act("resume", "Thaw a paused agent.", argv, Hub.resume, "resumed")


def kill(argv: list[str]) -> int:
    hub, agent = _one_agent("kill", "End an agent and everything it started.", argv)
    hub.org.agent(agent)  # an unknown name is an error before any job is touched
    try:
        cancelled = hub.cancel_jobs(agent, f"`missionctl kill {agent}`")
        jobs = f", {plural(cancelled, 'Slurm job')} cancelled" if cancelled else ""
    except UserError as exc:  # the agent is killed all the same
        jobs = f"; its Slurm jobs were not cancelled: {exc}"
    ended = plural(len(hub.kill(agent, cancel_jobs=False)), "process")
    return _said(agent, f"killed ({ended}{jobs}); its last screen stays in its window")


def restart(argv: list[str]) -> int:
    return _act(
        "restart", "Restart an agent in its window and worktree.", argv, Hub.restart, "restarted"
    )


def attach(argv: list[str]) -> int:
    hub, agent = _one_agent("attach", "Take over an agent's terminal (C-] comes back).", argv)
    if not sys.stdin.isatty():
        raise UserError("attach needs a terminal; run it from an interactive shell")
    env = env_outside_tmux()

    def hung_up(_signum: int, _frame: object) -> None:
        raise SystemExit(129)  # the terminal closed: still give the window back

    signal.signal(signal.SIGHUP, hung_up)
    old_size = hub.begin_takeover(agent)
    try:
        # Interactive and as long as the user likes: no timeout on purpose.
        subprocess.run(hub.takeover_argv(agent), env=env, check=False)
    finally:
        hub.end_takeover(agent, old_size)
    return 0


def standup(argv: list[str]) -> int:
    parser("standup", "Ask every agent for a standup now (replies go to the human).").parse_args(
        argv
    )
    from missionctl.agents.supervision.supervisor import call_standup

    hub = Hub.find()
    sent = call_standup(hub.ws)
    print(f"asked {len(sent)} agents for a standup; replies arrive in `missionctl mail inbox`")
    return 0
