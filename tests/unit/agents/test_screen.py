"""Fallback state from saved screens of Claude Code, Codex and a shell."""

from __future__ import annotations

from pathlib import Path

import pytest

from missionctl.agents.screen import guess_state

SCREENS = Path(__file__).resolve().parents[2] / "fixtures" / "screens"


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
    ],
)
def test_guess_from_saved_screen(provider: str, fixture: str, state: str) -> None:
    screen = (SCREENS / f"{fixture}.txt").read_text()
    assert guess_state(provider, screen) == state


def test_an_unknown_provider_is_never_guessed() -> None:
    assert guess_state("openai", (SCREENS / "claude-idle.txt").read_text()) == "unknown"
