"""Fallback agent state from what is on screen, when hooks have said nothing.

Heuristics only: they look at the bottom of the screen for the markers each
agent's UI shows, and say `unknown` rather than guess when nothing matches.
"""

from __future__ import annotations

import re

WORKING = "working"
IDLE = "idle"
NEEDS_YOU = "needs-you"
UNKNOWN = "unknown"

# Both Claude Code and Codex show this while a turn runs.
_INTERRUPT = re.compile(r"esc to interrupt|ctrl\+c to interrupt", re.IGNORECASE)
_QUESTION = re.compile(
    r"do you want to (proceed|make this edit|create|allow)|do you trust the files"
    r"|allow command\?|would you like to run the following command"
    r"|approve this|❯\s*1\.\s*yes|\[y/n\]|press enter to continue",
    re.IGNORECASE,
)
_CLAUDE_PROMPT = re.compile(r"^\s*[│|]?\s*[>❯]\s?(\S.*)?$")
_CODEX_PROMPT = re.compile(r"^\s*[▌›>]\s?(\S.*)?$")
# A prompt ends the last line; `%` is left out: it ends progress lines too often.
_SHELL_PROMPT = re.compile(r"[$#>]\s*$")
_SHORTCUTS = re.compile(r"\? for shortcuts|⏎ send|ctrl\+j newline|send\s+⌃J newline", re.IGNORECASE)


def _tail(screen: str, rows: int = 12) -> list[str]:
    lines = [line.rstrip() for line in screen.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines[-rows:]


def guess_state(provider: str, screen: str) -> str:
    """working, idle, needs-you or unknown, from a captured screen (no colour escapes)."""
    tail = _tail(screen)
    if not tail:
        return UNKNOWN
    text = "\n".join(tail)
    if provider in ("claude", "codex"):
        if _QUESTION.search(text):
            return NEEDS_YOU
        if _INTERRUPT.search(text):
            return WORKING
        prompt = _CLAUDE_PROMPT if provider == "claude" else _CODEX_PROMPT
        if _SHORTCUTS.search(text) or any(prompt.match(line) for line in tail[-6:]):
            return IDLE
        return UNKNOWN
    if provider in ("shell", "scripted"):
        if _QUESTION.search(tail[-1]):
            return NEEDS_YOU
        return IDLE if _SHELL_PROMPT.search(tail[-1]) else WORKING
    return UNKNOWN
