"""Each provider reads its own agent's screen: saved screens of Claude Code, Codex and a shell."""

from __future__ import annotations

import pytest

from missionctl.agents.providers import provider_for
from tests.helpers import SCREENS


@pytest.mark.parametrize(
    ("provider", "fixture", "state"),
    [
        ("claude", "claude-working", "working"),
        ("claude", "claude-idle", "idle"),
        ("claude", "claude-permission", "needs-you"),
        ("claude", "claude-trust", "needs-you"),
        ("codex", "codex-working", "working"),
        ("codex", "codex-idle", "idle"),
        ("codex", "codex-approval", "needs-you"),
        ("shell", "shell-idle", "idle"),
        ("shell", "shell-busy", "working"),
        ("claude", "blank", "unknown"),
        ("codex", "shell-busy", "unknown"),  # not a Codex screen: no guess
        # Captured from the real CLIs (Codex 0.171, Claude Code 2.1.197), 120x40.
        ("codex", "codex-0.171-approval", "needs-you"),
        ("codex", "codex-0.171-trust", "needs-you"),
        ("codex", "codex-0.171-hooks-review", "needs-you"),
        ("codex", "codex-0.171-working", "working"),
        # Mid-stream: the empty prompt, no "Working" line. It must never read idle.
        ("codex", "codex-0.171-streaming", "working"),
        ("codex", "codex-0.171-idle", "idle"),
        ("codex", "codex-0.171-interrupted", "idle"),
        ("claude", "claude-2.1-trust", "needs-you"),
        ("claude", "claude-2.1-api-key", "needs-you"),
        ("claude", "claude-2.1-permission", "needs-you"),
        ("claude", "claude-2.1-working", "working"),
        ("claude", "claude-2.1-idle", "idle"),
    ],
)
def test_guess_from_saved_screen(provider: str, fixture: str, state: str) -> None:
    screen = (SCREENS / f"{fixture}.txt").read_text()
    assert provider_for(provider).read_screen(screen).state == state


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_sdk_agents_read_as_line_programs(provider: str) -> None:
    reader = provider_for(provider)
    assert reader.read_screen("● Done.\nr1> ").state == "idle"
    assert reader.read_screen("● Working on it\n  └ step 3/10").state == "working"
    asking = "r1> \n? Allow command? It deletes files: rm -rf x [y/N] "
    assert reader.read_screen(asking).state == "needs-you"
    assert reader.prompt_ready("● Done.\nr1> ") and not reader.prompt_ready("r1> half-typ")


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("codex-0.171-approval", "approval question"),
        ("codex-0.171-trust", "trust dialog"),
        ("claude-2.1-trust", "trust dialog"),
        ("claude-2.1-api-key", "login"),
        ("claude-2.1-permission", "approval question"),
        ("codex-0.171-hooks-review", "menu"),
    ],
)
def test_a_question_says_what_it_is(fixture: str, reason: str) -> None:
    provider = fixture.split("-")[0]
    reading = provider_for(provider).read_screen((SCREENS / f"{fixture}.txt").read_text())
    assert reading.state == "needs-you" and reason in reading.reason


@pytest.mark.parametrize(
    ("provider", "fixture", "ready"),
    [
        ("codex", "codex-0.171-idle", True),
        ("codex", "codex-0.171-streaming", False),
        ("codex", "codex-0.171-approval", False),
        ("claude", "claude-2.1-idle", True),
        ("claude", "claude-2.1-working", False),
        ("claude", "claude-2.1-trust", False),
    ],
)
def test_prompt_ready_only_at_an_empty_waiting_prompt(
    provider: str, fixture: str, ready: bool
) -> None:
    assert provider_for(provider).prompt_ready((SCREENS / f"{fixture}.txt").read_text()) is ready
