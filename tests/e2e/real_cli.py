"""What the end-to-end tests of the real agent CLIs share."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from missionctl.agents.org.hub import Hub
from missionctl.agents.supervision.notices import CONFIRM_TIMEOUT_S
from missionctl.mailbox import Mailbox
from tests.fakes.model_server import FakeModelServer, Request, RunShell, Say, user_texts
from tests.helpers import agent_state, never, wait_for

# How long the supervisor may hold back an unconfirmed notice before it acts on it.
CONFIRM_S = CONFIRM_TIMEOUT_S


def needs(binary: str, install: str) -> list[pytest.MarkDecorator]:
    """Skip where `binary` is not installed (`.ci/run` installs the pinned version)."""
    reason = f"{binary} is not installed ({install})"
    return [pytest.mark.skipif(shutil.which(binary) is None, reason=reason), pytest.mark.slow]


def said(text: str) -> Callable[[Request], bool]:
    """Whether a request carries `text` in one of its user messages."""
    return lambda request: any(text in t for t in user_texts(request))


def holding(folder: Path, secret: str) -> list[Path]:
    """The files under `folder` that hold `secret`."""
    return [f for f in folder.rglob("*") if f.is_file() and secret.encode() in f.read_bytes()]


def first_turn(hub: Hub, model: FakeModelServer, agent: str, canary: Path) -> Request:
    """Start the org and follow `agent`'s first turn; return its request.

    The model answers that turn in text, held half-way: the agent is working while
    it streams, and idle once it ends. The model's next turn asks to run
    `touch canary`, which the CLI must put to the user as a question.
    """
    first_answer = threading.Event()
    model.script(
        Say("Reading the research program and the prompts first.", hold=first_answer),
        RunShell(f"touch {canary}", why="I need to create the canary."),
    )
    root = hub.ws.root
    hub.up()
    first = model.wait_for_turn(
        said(f"You are agent '{agent}'"), timeout=90, message="the first turn"
    )
    wait_for(
        lambda: agent_state(root, agent) == "working",
        timeout=30,
        message="working while it streams",
    )
    first_answer.set()
    wait_for(lambda: agent_state(root, agent) == "idle", timeout=30, message="idle after the turn")
    return first


def mail_never_answers_the_question(
    hub: Hub,
    model: FakeModelServer,
    agent: str,
    question: str,
    canary: Path,
    tool_outputs: Callable[[Request], list[dict[str, Any]]],
) -> None:
    """Mail reaches the idle `agent`, whose model then asks to run `touch canary`; more
    mail while `question` is on screen types nothing, so the question is never answered.

    `tool_outputs` finds the results of tool calls in a request, as the CLI's API
    carries them: none may ever reach the model.
    """
    root = hub.ws.root
    # A mail notice is typed at the idle prompt, confirmed by UserPromptSubmit, and
    # reaches the model; the model answers by asking to run a command.
    box = Mailbox.for_workspace(hub.ws)
    box.send("human", agent, "please look at the baseline", subject="baseline first")
    model.wait_for_turn(said("baseline first"), timeout=60, message="the notice at the model")
    record = hub.states.hook(agent)
    assert record is not None and "baseline first" in record.prompt  # the receipt
    wait_for(
        lambda: agent_state(root, agent) == "needs-you",
        timeout=30,
        message="needs-you at the question",
    )
    pane = {p.window: p for p in hub.tmux.panes()}[agent]
    # The state hook may fire before the question is drawn.
    wait_for(lambda: question in hub.tmux.capture(pane.pane_id), message="the question")

    # More mail while the question is on screen: nothing is typed, not even after
    # the confirmation timeout, so the question is never answered.
    turns = len(model.turns)
    box.send("human", agent, "and another thing", subject="second note")
    never(lambda: canary.exists() or len(model.turns) > turns, seconds=CONFIRM_S + 8)
    assert question in hub.tmux.capture(pane.pane_id)
    assert agent_state(root, agent) == "needs-you"
    assert not any(tool_outputs(r) for r in model.turns)
