"""The real Codex CLI in a real hub, against a local fake Responses API.

Its state comes from its own lifecycle hooks (installed and trusted by missionctl,
no dialog), mail notices are confirmed by its prompt hook, and nothing missionctl
does ever answers its approval question. Skips where Codex is not installed;
`.ci/run` installs the pinned version.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from missionctl.agents.org.hub import Hub
from missionctl.mailbox import Mailbox
from tests.e2e.real_cli import CONFIRM_S, needs, said
from tests.fakes.model_server import RunShell, Say
from tests.fakes.responses_api import FakeResponsesAPI, function_outputs
from tests.helpers import agent_state, never, processes_of, wait_for

pytestmark = needs("codex", "npm install -g @openai/codex@0.171.0")

KEY = "sk-test-not-a-real-key-2f9c41d7e8"
QUESTION = "Would you like to run the following command?"


@pytest.fixture
def model() -> Iterator[FakeResponsesAPI]:
    with FakeResponsesAPI() as server:
        yield server


def test_codex_state_from_hooks_and_mail_never_answers_its_question(
    hub_factory: Callable[..., Hub],
    model: FakeResponsesAPI,
    isolated_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The user's own Codex config is the base of the agent's: it asks before
    # running anything outside the sandbox.
    (isolated_env / ".codex").mkdir()
    (isolated_env / ".codex" / "config.toml").write_text(
        'approval_policy = "on-request"\nsandbox_mode = "workspace-write"\n'
    )
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    canary = tmp_path / "canary"  # outside the worktree: running it needs approval
    first_answer = threading.Event()
    model.script(
        Say("Reading the research program and the prompts first.", hold=first_answer),
        RunShell(f"touch {canary}", why="I need to create the canary."),
    )
    hub = hub_factory(
        '[[agent]]\nname = "cx"\nprovider = "codex"\n\n'
        f'[providers.codex]\nmodel = "gpt-5-codex"\nbase_url = "{model.url}/v1"\n'
    )
    root = hub.ws.root
    hub.up()

    # No trust or hook-review dialog: the first message reaches the model, with the
    # key from the environment.
    first = model.wait_for_turn(said("You are agent 'cx'"), timeout=90, message="the first turn")
    assert first.headers["authorization"] == f"Bearer {KEY}"
    wait_for(
        lambda: agent_state(root, "cx") == "working", timeout=30, message="working while it streams"
    )
    first_answer.set()
    wait_for(lambda: agent_state(root, "cx") == "idle", timeout=30, message="idle after the turn")
    record = hub.states.hook("cx")
    assert record is not None and record.event == "Stop"

    # Its own CODEX_HOME, and no shared background server (bug 6).
    home = hub.ws.agent_config("cx") / "codex"
    codex = [p for p in processes_of(root) if any(Path(a).name == "codex" for a in p.cmdline()[:2])]
    assert codex and all(p.environ().get("CODEX_HOME") == str(home.resolve()) for p in codex)
    assert not [p for p in codex if "app-server" in p.cmdline()]
    assert not [f for f in home.rglob("*") if f.is_file() and KEY.encode() in f.read_bytes()]

    # A mail notice is typed at the idle prompt, confirmed by UserPromptSubmit, and
    # reaches the model; the model answers by asking to run a command.
    box = Mailbox.for_workspace(hub.ws)
    box.send("human", "cx", "please look at the baseline", subject="baseline first")
    model.wait_for_turn(said("baseline first"), timeout=60, message="the notice at the model")
    record = hub.states.hook("cx")
    assert record is not None and "baseline first" in record.prompt  # the receipt
    wait_for(
        lambda: agent_state(root, "cx") == "needs-you",
        timeout=30,
        message="needs-you at the question",
    )
    pane = {p.window: p for p in hub.tmux.panes()}["cx"]
    # The hook fires before the question is drawn.
    wait_for(lambda: QUESTION in hub.tmux.capture(pane.pane_id), message="the question")

    # More mail while the question is on screen: nothing is typed, not even after
    # the confirmation timeout, so the question is never answered.
    turns = len(model.turns)
    box.send("human", "cx", "and another thing", subject="second note")
    never(lambda: canary.exists() or len(model.turns) > turns, seconds=CONFIRM_S + 8)
    assert QUESTION in hub.tmux.capture(pane.pane_id)
    assert agent_state(root, "cx") == "needs-you"
    assert not any(function_outputs(r) for r in model.turns)

    hub.down(grace=2.0)
    assert not canary.exists()
    assert not [f for f in home.rglob("*") if f.is_file() and KEY.encode() in f.read_bytes()]
    assert wait_for(lambda: not processes_of(root), timeout=20, message="no process left")
    assert not [p for p in psutil.process_iter(["cmdline"])
                if str(home) in " ".join(p.info["cmdline"] or [])]  # fmt: skip
