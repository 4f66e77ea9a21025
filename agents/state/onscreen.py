"""What an agent's visible screen says: a question, work, or an empty prompt.

The shared parts: the question patterns every provider is checked against, and
the two shapes of agent UI (`FullScreenTUI`, `LineProgram`); each provider reads
its own screen with them (its prompt line, its signs of work).

Heuristics, used two ways. As a fallback state where hooks are silent (trust
dialogs come before any hook; Codex's `notify` reports finished turns only).
And as a veto: the supervisor types a mail notice only when no question, dialog
or menu is anywhere on the visible screen — a notice's Enter must never answer
one. So question patterns err on the side of seeing a question: a false one only
delays mail.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import NamedTuple, Protocol

WORKING = "working"
IDLE = "idle"
NEEDS_YOU = "needs-you"
UNKNOWN = "unknown"

# Claude Code and Codex both show this while a turn runs.
INTERRUPT_HINT = re.compile(r"esc to interrupt|ctrl\+c to interrupt", re.IGNORECASE)

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

# A prompt ends the last line; `%` is left out: it ends progress lines too often.
_SHELL_PROMPT = re.compile(r"[$#>]\s*$")
# A line program's prompt with nothing typed after it: `r1> `, `agent> `.
_LINE_PROMPT = re.compile(r"^[A-Za-z0-9_.-]{1,40}>$")


class ScreenReading(NamedTuple):
    """What a screen says: a state (working, idle, needs-you, unknown) and why."""

    state: str
    reason: str = ""


class ScreenReader(Protocol):
    """How one kind of agent's screen is read (each provider is one)."""

    def read_screen(self, screen: str) -> ScreenReading:
        """working, idle, needs-you or unknown, with the reason."""
        ...

    def question(self, screen: str) -> str | None:
        """The reason line if a question, dialog or menu is on screen; else None."""
        ...

    def prompt_ready(self, screen: str) -> bool:
        """Whether its prompt is on screen, waiting, empty, with no question."""
        ...


def screen_lines(screen: str) -> list[str]:
    """The captured screen's rows, right-trimmed, without the blank ones at the bottom."""
    lines = [line.rstrip() for line in screen.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def question_in(text: str) -> str | None:
    """The reason line of the first question pattern found in `text`; else None."""
    for pattern, reason in _QUESTIONS:
        if pattern.search(text):
            return reason
    return None


class _ScreenShape(ABC):
    """What every shape shares: no lines is unknown, a question is needs-you."""

    @abstractmethod
    def question(self, screen: str) -> str | None:
        """The reason line of a question this shape shows, or None."""

    @abstractmethod
    def _state(self, lines: list[str]) -> ScreenReading:
        """The state the screen's rows show, when no question is on it."""

    def read_screen(self, screen: str) -> ScreenReading:
        """working, idle, needs-you or unknown, with the reason."""
        lines = screen_lines(screen)
        if not lines:
            return ScreenReading(UNKNOWN)
        reason = self.question(screen)
        if reason is not None:
            return ScreenReading(NEEDS_YOU, reason)
        return self._state(lines)


class FullScreenTUI(_ScreenShape):
    """A full-screen agent CLI (Claude Code, Codex): a question may sit anywhere on
    its screen; it shows an interrupt hint while it works and a prompt line when
    waiting. Providers give their prompt pattern and, where the hint is not enough,
    their own test for a turn under way."""

    prompt_pattern: re.Pattern[str]
    idle_hint = re.compile(r"\? for shortcuts|⏎ send|ctrl\+j newline|send\s+⌃J newline", re.I)

    def busy(self, lines: list[str]) -> bool:
        """A turn is under way though no interrupt hint shows."""
        return False

    def question(self, screen: str) -> str | None:
        return question_in("\n".join(screen_lines(screen)))

    def _working(self, lines: list[str]) -> bool:
        return bool(INTERRUPT_HINT.search("\n".join(lines[-12:]))) or self.busy(lines)

    def _state(self, lines: list[str]) -> ScreenReading:
        if self._working(lines):
            return ScreenReading(WORKING)
        tail = lines[-12:]
        if self.idle_hint.search("\n".join(tail)) or any(
            self.prompt_pattern.match(line) for line in tail[-6:]
        ):
            return ScreenReading(IDLE)
        return ScreenReading(UNKNOWN)

    def prompt_ready(self, screen: str) -> bool:
        lines = screen_lines(screen)
        if not lines or self.question(screen) is not None or self._working(lines):
            return False
        return any(self.prompt_pattern.match(line) for line in lines[-6:])


class LineProgram(_ScreenShape):
    """A line-oriented program (a shell, the scripted agent): its prompt is the last
    line, text typed shows after it, and only that last line can be its question
    (above it is output, which may quote anything)."""

    def question(self, screen: str) -> str | None:
        lines = screen_lines(screen)
        return question_in(lines[-1]) if lines else None

    def _state(self, lines: list[str]) -> ScreenReading:
        return ScreenReading(IDLE if _SHELL_PROMPT.search(lines[-1]) else WORKING)

    def prompt_ready(self, screen: str) -> bool:
        lines = screen_lines(screen)
        return bool(lines) and self.question(screen) is None and bool(_LINE_PROMPT.match(lines[-1]))
