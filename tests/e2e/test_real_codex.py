"""The real Codex CLI in a real hub, against a local fake Responses API.

Its state comes from its own lifecycle hooks (installed and trusted by missionctl,
no dialog), mail notices are confirmed by its prompt hook, and nothing missionctl
does ever answers its approval question. Skips where Codex is not installed;
`.ci/run` installs the pinned version.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from missionctl.agents.org.hub import Hub
from tests.e2e.real_cli import first_turn, holding, mail_never_answers_the_question, needs
from tests.fakes.responses_api import FakeResponsesAPI, function_outputs
from tests.helpers import processes_of, wait_for

pytestmark = needs("codex", "npm install -g @openai/codex@0.171.0")

KEY = "sk-test-not-a-real-key-2f9c41d7e8"
QUESTION = "Would you like to run the following command?"


def test_codex_state_from_hooks_and_mail_never_answers_its_question(
    hub_factory: Callable[..., Hub],
    responses_api: FakeResponsesAPI,
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
    hub = hub_factory(
        '[[agent]]\nname = "cx"\nprovider = "codex"\n\n'
        f'[providers.codex]\nmodel = "gpt-5-codex"\nbase_url = "{responses_api.url}/v1"\n'
    )
    root = hub.ws.root

    # No trust or hook-review dialog: the first message reaches the model, with the
    # key from the environment.
    first = first_turn(hub, responses_api, "cx", canary)
    assert first.headers["authorization"] == f"Bearer {KEY}"
    record = hub.states.hook("cx")
    assert record is not None and record.event == "Stop"

    # Its own CODEX_HOME, and no shared background server (bug 6).
    home = hub.ws.agent_config("cx") / "codex"
    codex = [p for p in processes_of(root) if any(Path(a).name == "codex" for a in p.cmdline()[:2])]
    assert codex and all(p.environ().get("CODEX_HOME") == str(home.resolve()) for p in codex)
    assert not [p for p in codex if "app-server" in p.cmdline()]
    assert not holding(home, KEY)

    mail_never_answers_the_question(hub, responses_api, "cx", QUESTION, canary, function_outputs)

    hub.down(grace=2.0)
    assert not canary.exists()
    assert not holding(home, KEY)
    assert wait_for(lambda: not processes_of(root), timeout=20, message="no process left")
    assert not [p for p in psutil.process_iter(["cmdline"])
                if str(home) in " ".join(p.info["cmdline"] or [])]  # fmt: skip
