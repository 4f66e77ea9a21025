"""`missionctl hook EVENT [PAYLOAD]`: an agent reports what it is doing.

Called by Claude Code hooks (JSON on stdin), Codex `notify` (JSON as an
argument), the scripted agent and the shell. It runs on every tool call of every
agent, so it imports only the standard library and the state module. It always
exits 0: Claude Code reads exit code 2 from a hook as "block this tool call", and
a state report must never stop an agent's work. Problems go to the hook log.

An agent reports only its own state: inside an agent's window (see
`missionctl.identity`) `--agent` and `$MISSIONCTL_AGENT` must name that agent,
and the workspace is the one its window was started in. Timestamps (`--ts`,
the shell's own clock) are clamped near now by the state store.
"""

from __future__ import annotations

import json
import os
import select
import sys
import time
from pathlib import Path
from typing import Any

from missionctl import identity
from missionctl.names import ENV_AGENT, ENV_WORKSPACE, NAME_RE

_STDIN_WAIT_S = 0.5


def _read_stdin() -> str:
    if sys.stdin is None or sys.stdin.closed or sys.stdin.isatty():
        return ""
    try:
        ready, _, _ = select.select([sys.stdin], [], [], _STDIN_WAIT_S)
    except (OSError, ValueError):
        return ""
    return sys.stdin.read() if ready else ""


def _payload(argv_payload: str | None) -> dict[str, Any]:
    text = argv_payload if argv_payload is not None else _read_stdin()
    if not text.strip():
        return {}
    data = json.loads(text)
    return data if isinstance(data, dict) else {}


def _log(root: str | None, message: str) -> None:
    if not root:
        return
    try:
        from missionctl.files import make_private_dir, open_private

        logs = make_private_dir(Path(root) / ".missionctl" / "logs")
        fd = open_private(logs / "hook.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        with open(fd, "a", encoding="utf-8") as fh:
            fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}\n")
    except OSError:
        pass


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(
            "usage: missionctl hook EVENT [PAYLOAD_JSON] [--agent NAME] [--ts EPOCH]\n\n"
            "Record an agent's hook event (Claude Code hook name, codex-notify, or a state:\n"
            "starting, working, idle, needs-you). Reads a JSON payload from stdin when\n"
            "one is piped. Always exits 0."
        )
        return 0
    event, rest = argv[0], argv[1:]
    agent = os.environ.get(ENV_AGENT)
    root = os.environ.get(ENV_WORKSPACE)
    ts: float | None = None
    payload_arg: str | None = None
    try:
        while rest:
            head = rest.pop(0)
            if head == "--agent" and rest:
                agent = rest.pop(0)
            elif head == "--ts" and rest:
                ts = float(rest.pop(0).replace(",", "."))
            else:
                payload_arg = head
        me = identity.caller()
        if me is not None:
            if agent is None:
                return 0  # a program of the agent's own, not a missionctl-hooked one
            if agent != me.agent or (root and me.workspace and root != me.workspace):
                _log(me.workspace or root, f"hook {event}: refused: {me.agent} reported as {agent}")
                return 0  # an agent reports its own state only
            root = me.workspace or root
        if not agent or not root:
            return 0  # not run by a missionctl agent (e.g. a user's own Claude session)
        from missionctl.agents.state.store import StateStore, clamp_ts

        if not NAME_RE.match(agent):
            _log(root, f"hook {event}: invalid agent name {agent!r}")
            return 0
        payload = _payload(payload_arg)
        # An agent's clock, or a lie (`--ts 1e300` once pinned a state): clamped near now.
        ts = clamp_ts(ts, time.time())
        StateStore(Path(root) / ".missionctl" / "state").record(agent, event, payload, now=ts)
    except Exception as exc:  # never fail the agent's tool call; say why in the log
        _log(root, f"hook {event} for {agent}: {type(exc).__name__}: {exc}")
    return 0
