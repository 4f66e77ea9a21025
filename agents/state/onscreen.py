"""What an agent's visible screen says: a question, work, or an empty prompt.

Heuristics, used two ways. As a fallback state where hooks are silent (trust
dialogs come before any hook; Codex's `notify` reports finished turns only).
And as a veto: the supervisor types a mail notice only when no question, dialog
or menu is anywhere on the visible screen — a notice's Enter must never answer
one. So question patterns err on the side of seeing a question: a false one only
delays mail.
"""

from __future__ import annotations

import re
from typing import NamedTuple

WORKING = "working"
IDLE = "idle"
NEEDS_YOU = "needs-you"
UNKNOWN = "unknown"

# Full-screen TUIs (a question may sit anywhere on the screen) versus line
# programs (only their last line is theirs to ask on; above it is output).
TUIS = ("claude", "codex")

# Both Claude Code and Codex show this while a turn runs.
_INTERRUPT = re.compile(r"esc to interrupt|ctrl\+c to interrupt", re.IGNORECASE)

# (pattern, the one-line reason shown in the agent's header). First match wins.
_QUESTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE | re.MULTILINE), reason)
    for p, reason in (
        (r"do you trust the (files|contents)|trust this (folder|directory)"
         r"|i trust this folder|trust the (files|contents) in",
         "trust dialog: take over to answer"),
        (r"sign in with chatgpt|select login method|provide your own api key"
         r"|use this api key|detected a custom api key", "login: take over to answer"),
        (r"would you like to run the following command|allow command\?|approve this"
         r"|do you want to (proceed|make this edit|create|allow|run)",
         "approval question: take over to answer"),
        (r"choose the text style|select (a )?theme|press enter to continue|update available"
         r"|\[y/n\]|\(y/n\)|\[Y/n\]|\[y/N\]", "a question on screen: take over to answer"),
        # A menu: a selection cursor on a numbered option (Claude ❯, Codex ›).
        (r"^[\s│|]*[❯›>▶]\s*\d+[.)]\s+\S", "a menu on screen: take over to answer"),
    )
)  # fmt: skip

_CLAUDE_PROMPT = re.compile(r"^\s*[│|]?\s*[>❯]\s?(\S.*)?$")
_CODEX_PROMPT = re.compile(r"^\s*[▌›>]\s?(\S.*)?$")
_SHORTCUTS = re.compile(r"\? for shortcuts|⏎ send|ctrl\+j newline|send\s+⌃J newline", re.IGNORECASE)
# Codex 0.171 ends every turn with one of these under the answer; mid-stream it
# shows its empty prompt and no "Working" line, so their absence is the tell.
_CODEX_TURN_END = re.compile(r"^\s*(Worked for |■ |✗ )", re.IGNORECASE)
# A prompt ends the last line; `%` is left out: it ends progress lines too often.
_SHELL_PROMPT = re.compile(r"[$#>]\s*$")
# A line program's prompt with nothing typed after it: `r1> `, `agent> `.
_LINE_PROMPT = re.compile(r"^[A-Za-z0-9_.-]{1,40}>$")


class ScreenReading(NamedTuple):
    """What a screen says: a state (working, idle, needs-you, unknown) and why."""

    state: str
    reason: str = ""


def _lines(screen: str) -> list[str]:
    lines = [line.rstrip() for line in screen.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def question(provider: str, screen: str) -> str | None:
    """The reason line if the screen shows a question, dialog or menu; else None.

    A TUI's whole visible screen is searched; a line program's last line only.
    """
    lines = _lines(screen)
    if not lines:
        return None
    text = "\n".join(lines) if provider in TUIS else lines[-1]
    for pattern, reason in _QUESTIONS:
        if pattern.search(text):
            return reason
    return None


def prompt_ready(provider: str, screen: str) -> bool:
    """Whether the screen positively shows the agent's prompt, waiting, with no question."""
    lines = _lines(screen)
    if not lines or question(provider, screen) is not None:
        return False
    if provider in TUIS:
        if _INTERRUPT.search("\n".join(lines[-12:])):
            return False
        if provider == "codex" and _codex_streaming(lines):
            return False
        prompt = _CLAUDE_PROMPT if provider == "claude" else _CODEX_PROMPT
        return any(prompt.match(line) for line in lines[-6:])
    return bool(_LINE_PROMPT.match(lines[-1]))


def read_screen(provider: str, screen: str) -> ScreenReading:
    """working, idle, needs-you or unknown, with the reason, from a captured screen."""
    lines = _lines(screen)
    if not lines:
        return ScreenReading(UNKNOWN)
    reason = question(provider, screen)
    if reason is not None:
        return ScreenReading(NEEDS_YOU, reason)
    if provider in TUIS:
        tail = lines[-12:]
        if _INTERRUPT.search("\n".join(tail)):
            return ScreenReading(WORKING)
        if provider == "codex" and _codex_streaming(lines):
            return ScreenReading(WORKING)
        prompt = _CLAUDE_PROMPT if provider == "claude" else _CODEX_PROMPT
        if _SHORTCUTS.search("\n".join(tail)) or any(prompt.match(line) for line in tail[-6:]):
            return ScreenReading(IDLE)
        return ScreenReading(UNKNOWN)
    if provider in ("shell", "scripted"):
        return ScreenReading(IDLE if _SHELL_PROMPT.search(lines[-1]) else WORKING)
    return ScreenReading(UNKNOWN)


def _codex_streaming(lines: list[str]) -> bool:
    """A Codex turn under way: a prompt was sent (a `› text` line above the input
    line) and no turn-end line follows it."""
    prompts = [i for i, line in enumerate(lines) if _CODEX_PROMPT.match(line)]
    if len(prompts) < 2:
        return False
    sent, field = prompts[-2], prompts[-1]
    return not any(_CODEX_TURN_END.match(line) for line in lines[sent + 1 : field])


def guess_state(provider: str, screen: str) -> str:
    """The state alone (see `read_screen`)."""
    return read_screen(provider, screen).state
