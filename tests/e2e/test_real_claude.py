"""The real Claude Code in a real hub, against a local fake Messages API.

It starts without a dialog (its own config, prepared by missionctl), its state
comes from its hooks, mail notices are confirmed by its prompt hook, and nothing
missionctl does ever answers its permission question. Skips where Claude Code is
not installed; `.ci/run` installs the pinned version.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from missionctl.agents.org.hub import Hub
from missionctl.mailbox import Mailbox
from tests.e2e.real_cli import CONFIRM_S, needs, said
from tests.fakes.messages_api import FakeMessagesAPI, api_key, tool_results
from tests.fakes.model_server import RunShell, Say
from tests.helpers import agent_state, never, processes_of, wait_for

pytestmark = needs("claude", "npm install -g @anthropic-ai/claude-code@2.1.197")

KEY = "sk-ant-test-not-a-real-key-7d3e91a0c4"
QUESTION = "Do you want to proceed?"


@pytest.fixture
def model() -> Iterator[FakeMessagesAPI]:
    with FakeMessagesAPI() as server:
        yield server


def test_claude_state_from_hooks_and_mail_never_answers_its_question(
    hub_factory: Callable[..., Hub],
    model: FakeMessagesAPI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    canary = tmp_path / "canary"
    first_answer = threading.Event()
    model.script(
        Say("Reading the research program and the prompts first.", hold=first_answer),
        RunShell(f"touch {canary}", why="I need to create the canary."),
    )
    hub = hub_factory(
        '[[agent]]\nname = "cl"\nprovider = "claude"\n\n'
        f'[providers.claude]\nbase_url = "{model.url}"\n'
        'env = { CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1" }\n'
    )
    root = hub.ws.root
    hub.up()

    # No onboarding, trust or key dialog: the first message reaches the model, with
    # the key from the environment.
    first = model.wait_for_turn(said("You are agent 'cl'"), timeout=90, message="the first turn")
    assert api_key(first) == KEY
    wait_for(
        lambda: agent_state(root, "cl") == "working", timeout=30, message="working while it streams"
    )
    first_answer.set()
    wait_for(lambda: agent_state(root, "cl") == "idle", timeout=30, message="idle after the turn")
    config = hub.ws.agent_config("cl") / "claude"
    assert not [f for f in config.rglob("*") if f.is_file() and KEY.encode() in f.read_bytes()]

    # A mail notice is typed at the idle prompt, confirmed by UserPromptSubmit, and
    # reaches the model; the model answers by asking to run a command.
    box = Mailbox.for_workspace(hub.ws)
    box.send("human", "cl", "please look at the baseline", subject="baseline first")
    model.wait_for_turn(said("baseline first"), timeout=60, message="the notice at the model")
    record = hub.states.hook("cl")
    assert record is not None and "baseline first" in record.prompt
    wait_for(
        lambda: agent_state(root, "cl") == "needs-you",
        timeout=30,
        message="needs-you at the question",
    )
    pane = {p.window: p for p in hub.tmux.panes()}["cl"]
    wait_for(lambda: QUESTION in hub.tmux.capture(pane.pane_id), message="the question")

    # More mail while the question is on screen: nothing is typed, not even after
    # the confirmation timeout, so the question is never answered.
    turns = len(model.turns)
    box.send("human", "cl", "and another thing", subject="second note")
    never(lambda: canary.exists() or len(model.turns) > turns, seconds=CONFIRM_S + 8)
    assert QUESTION in hub.tmux.capture(pane.pane_id)
    assert agent_state(root, "cl") == "needs-you"
    assert not any(tool_results(r) for r in model.turns)

    hub.down(grace=2.0)
    assert not canary.exists()
    assert wait_for(lambda: not processes_of(root), timeout=20, message="no process left")
