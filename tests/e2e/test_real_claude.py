"""The real Claude Code in a real hub, against a local fake Messages API.

It starts without a dialog (its own config, prepared by missionctl), its state
comes from its hooks, mail notices are confirmed by its prompt hook, and nothing
missionctl does ever answers its permission question. Skips where Claude Code is
not installed; `.ci/run` installs the pinned version.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from missionctl.agents.org.hub import Hub
from tests.e2e.real_cli import first_turn, holding, mail_never_answers_the_question, needs
from tests.fakes.messages_api import FakeMessagesAPI, api_key, tool_results
from tests.helpers import processes_of, wait_for

pytestmark = needs("claude", "npm install -g @anthropic-ai/claude-code@2.1.197")

KEY = "sk-ant-test-not-a-real-key-7d3e91a0c4"
QUESTION = "Do you want to proceed?"


def test_claude_state_from_hooks_and_mail_never_answers_its_question(
    hub_factory: Callable[..., Hub],
    messages_api: FakeMessagesAPI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    canary = tmp_path / "canary"
    hub = hub_factory(
        '[[agent]]\nname = "cl"\nprovider = "claude"\n\n'
        f'[providers.claude]\nbase_url = "{messages_api.url}"\n'
        'env = { CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1" }\n'
    )

    # No onboarding, trust or key dialog: the first message reaches the model, with
    # the key from the environment.
    first = first_turn(hub, messages_api, "cl", canary)
    assert api_key(first) == KEY
    assert not holding(hub.ws.agent_config("cl") / "claude", KEY)

    mail_never_answers_the_question(hub, messages_api, "cl", QUESTION, canary, tool_results)

    hub.down(grace=2.0)
    assert not canary.exists()
    assert wait_for(lambda: not processes_of(hub.ws.root), timeout=20, message="no process left")
