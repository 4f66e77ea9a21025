"""What is worth telling a person, decided from successive looks at the org. Pure.

A notice says who, what and where: the agent, the event, the org and host. Never
a mail body, never the question on an agent's screen (it can hold anything the
agent printed, a key included), never a secret: only words made here from names,
numbers and ids, with control characters removed.
"""

from __future__ import annotations

import socket
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from missionctl.agents.state.store import NEEDS_YOU, AgentState
from missionctl.mailbox import Message
from missionctl.names import plain

# Run statuses that mean a run died (see train/runs/reader.py).
CRASHED = {"crash": "crashed", "nan": "diverged (nan)", "unknown": "died without an end event"}
# Mail to the human that is news: results (verdicts), claims and their answers.
NEWS_KINDS = ("result", "claim")
MAX_FIELD = 200


def _clean(text: str) -> str:
    return plain(text, MAX_FIELD)


@dataclass(frozen=True)
class Notice:
    """One notification: `event` (an orgfile.NOTIFY_EVENTS name) about `agent`."""

    event: str
    agent: str
    title: str
    message: str
    org: str = ""
    host: str = field(default_factory=socket.gethostname)

    def fields(self) -> dict[str, str]:
        """The words a notify command's arguments and a webhook's JSON are made of."""
        return {
            "event": _clean(self.event),
            "agent": _clean(self.agent),
            "title": _clean(self.title),
            "message": _clean(self.message),
            "org": _clean(self.org),
            "host": _clean(self.host),
        }


class Watch:
    """Turns successive looks at agents and runs into notices of what changed.

    The first look at each agent is a baseline and tells nothing: a restarted
    supervisor or a newly opened app does not announce what was already so.
    """

    def __init__(self, org: str) -> None:
        self.org = org
        self._states: dict[str, str] = {}
        self._runs: dict[str, tuple[str, str]] = {}

    def states(self, states: Mapping[str, AgentState]) -> list[Notice]:
        """Notices for agents that now need a person or exited with an error."""
        out: list[Notice] = []
        for agent, state in states.items():
            before = self._states.get(agent)
            self._states[agent] = state.name
            if before is None or before == state.name:
                continue
            if state.name == NEEDS_YOU:
                out.append(
                    Notice(
                        "needs-you",
                        agent,
                        f"{agent} needs you",
                        f"{agent} is waiting for a person (org {self.org}): take over with"
                        f" `missionctl attach {agent}` or the app",
                        self.org,
                    )
                )
            elif state.is_exited and state.exit_code not in (0, None):
                out.append(
                    Notice(
                        "exit",
                        agent,
                        f"{agent} exited with code {state.exit_code}",
                        f"{agent} exited with code {state.exit_code} (org {self.org}):"
                        f" `missionctl restart {agent}` starts it again",
                        self.org,
                    )
                )
        return out

    def runs(self, runs: Mapping[str, tuple[str, str]]) -> list[Notice]:
        """Notices for runs that crashed, from {agent: (newest run id, its status)}."""
        out: list[Notice] = []
        for agent, (run_id, status) in runs.items():
            before = self._runs.get(agent)
            self._runs[agent] = (run_id, status)
            if before is None or status not in CRASHED:
                continue
            if before[0] == run_id and before[1] in CRASHED:
                continue  # told already
            out.append(
                Notice(
                    "run-crash",
                    agent,
                    f"{agent}'s run {CRASHED[status]}",
                    f"run {run_id} of {agent} {CRASHED[status]} (org {self.org}):"
                    f" `missionctl runs show {run_id}`",
                    self.org,
                )
            )
        return out


def mail_notice(message: Message, org: str, since: float | None = None) -> Notice | None:
    """A notice for mail to the human that is news (a result, a claim or its answer):
    who sent what kind, and its id. Never the subject or the body. With `since` (when
    the caller started): none for mail from before, which was news to an earlier one."""
    if message.kind not in NEWS_KINDS:
        return None
    if since is not None and message.time.timestamp() < since - 1.0:
        return None
    return Notice(
        "mail",
        message.sender,
        f"{message.sender} mailed you a {message.kind}",
        f"{message.kind} from {message.sender} (org {org}): `missionctl mail read {message.id}`",
        org,
    )


class RateLimit:
    """The same event for the same agent at most every `repeat_after` seconds, and at
    most `burst` notices a minute in all: a flapping agent must not flood a phone."""

    def __init__(self, repeat_after: float, burst: int = 10, window: float = 60.0) -> None:
        self.repeat_after = repeat_after
        self.burst = burst
        self.window = window
        self.held_back = 0
        self._last: dict[tuple[str, str], float] = {}
        self._recent: deque[float] = deque()

    def allow(self, notice: Notice, now: float) -> bool:
        """Whether `notice` may go out now (and count it if so)."""
        key = (notice.event, notice.agent)
        last = self._last.get(key)
        while self._recent and now - self._recent[0] >= self.window:
            self._recent.popleft()
        if (last is not None and now - last < self.repeat_after) or len(self._recent) >= self.burst:
            self.held_back += 1
            return False
        self._last[key] = now
        self._recent.append(now)
        return True
