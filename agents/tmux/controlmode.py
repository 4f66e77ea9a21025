"""The tmux control-mode protocol as a pure parser: bytes in, typed events out.

A control client (`tmux -C attach`) writes one line per notification (`%output`,
`%window-add`, ...) and answers every command with a block: `%begin`, the command's
output lines, then `%end` or `%error`. `ControlParser.feed` takes the stream in
chunks of any size (a line may be split anywhere) and returns the events that the
chunk completed. Nothing here does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar, dataclass_transform

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True)
def _event(cls: type[_T]) -> type[_T]:
    """Events are small frozen records."""
    return dataclass(frozen=True, slots=True)(cls)


# tmux escapes bytes below 0x20 and the backslash in %output as \ooo.
_OCTAL = re.compile(rb"\\([0-7]{3})")
# Inside a reply block tmux emits these two itself while running `refresh-client -A`
# (the man page says notifications never occur there; 3.3a does it anyway).
_IN_BLOCK_NOTIFICATION = re.compile(rb"%(pause|continue) (%\d+)")


def unescape(value: bytes) -> bytes:
    """Decode tmux's octal escapes (`\\033` -> ESC, `\\134` -> backslash)."""
    if b"\\" not in value:
        return value
    return _OCTAL.sub(lambda m: bytes((int(m.group(1), 8) & 0xFF,)), value)


@_event
class Output:
    """`%output %<pane> <value>`: the pane wrote `data` to its terminal."""

    pane: str
    raw: bytes  # as on the wire; decoding is left to the few readers that need it

    @property
    def data(self) -> bytes:
        """The bytes the pane wrote, escapes decoded."""
        return unescape(self.raw)


@_event
class ExtendedOutput:
    """`%extended-output %<pane> <age> ... : <value>` (sent instead of `%output`
    when the client has the pause-after flag); `age_ms` is how long tmux held it."""

    pane: str
    age_ms: int
    raw: bytes

    @property
    def data(self) -> bytes:
        """The bytes the pane wrote, escapes decoded."""
        return unescape(self.raw)


@_event
class _PaneNotice:
    pane: str


@_event
class Pause(_PaneNotice):
    """`%pause %<pane>`: tmux stopped sending the pane's output (it fell too far behind)."""


@_event
class Continue(_PaneNotice):
    """`%continue %<pane>`: output from a paused pane flows again."""


@_event
class Reply:
    """One `%begin` ... `%end`/`%error` block: a command's answer.

    `flags` is 1 for commands the client sent on its stdin and 0 for the command
    it was started with (the `attach` itself).
    """

    time: int
    number: int
    flags: int
    ok: bool
    lines: tuple[str, ...]


@_event
class _WindowNotice:
    window: str


@_event
class WindowAdd(_WindowNotice):
    """`%window-add @<id>`: a window was linked to the attached session."""


@_event
class WindowClose(_WindowNotice):
    """`%window-close @<id>`: a window of the attached session closed."""


@_event
class UnlinkedWindowClose(_WindowNotice):
    """`%unlinked-window-close @<id>`: a window closed after leaving the session
    (`kill-window` reports it this way)."""


@_event
class WindowRenamed:
    """`%window-renamed @<id> <name>`."""

    window: str
    name: str


@_event
class SessionChanged:
    """`%session-changed $<id> <name>`: the client is now attached to this session."""

    session: str
    name: str


@_event
class SessionsChanged:
    """`%sessions-changed`: a session was created or destroyed."""


@_event
class LayoutChange:
    """`%layout-change @<id> <layout> <visible-layout> <flags>` (a resize, a split)."""

    window: str
    layout: str
    visible_layout: str
    flags: str


@_event
class Exit:
    """`%exit [reason]`: the control client is about to exit."""

    reason: str | None


@_event
class Notification:
    """Any other `%name args` line, passed through so nothing is silently lost."""

    name: str
    args: str


@_event
class Stray:
    """A line outside any block that is not a notification (tmux never sends one;
    kept so a protocol surprise is visible rather than dropped)."""

    line: str


Event = (
    Output
    | ExtendedOutput
    | Pause
    | Continue
    | Reply
    | WindowAdd
    | WindowClose
    | UnlinkedWindowClose
    | WindowRenamed
    | SessionChanged
    | SessionsChanged
    | LayoutChange
    | Exit
    | Notification
    | Stray
)


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _words(args: bytes, count: int) -> list[str]:
    """`args` split into exactly `count` words; the last keeps any remaining spaces."""
    parts = args.split(b" ", count - 1) if args else []
    parts += [b""] * (count - len(parts))
    return [_text(p) for p in parts]


class ControlParser:
    """Incremental parser of a control client's stdout.

    Feed it whatever the pipe returned; it keeps the incomplete last line and an
    open reply block between calls.
    """

    def __init__(self) -> None:
        self._partial = b""
        # The open block's header (time, number, flags) and its lines so far.
        self._block: tuple[int, int, int] | None = None
        self._block_lines: list[str] = []

    @property
    def in_block(self) -> bool:
        """True between a `%begin` and its `%end`/`%error`."""
        return self._block is not None

    def feed(self, data: bytes) -> list[Event]:
        """Parse a chunk; return the events completed by it, in stream order."""
        if not data:
            return []
        lines = data.split(b"\n")
        if self._partial:
            lines[0] = self._partial + lines[0]
        self._partial = lines.pop()
        events: list[Event] = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: bytes) -> Event | None:
        if self._block is not None:
            return self._block_line(line)
        # The hot path: under load almost every line is pane output.
        if line.startswith(b"%output "):
            pane, _, raw = line[8:].partition(b" ")
            return Output(pane.decode("ascii", "replace"), raw)
        if line.startswith(b"%extended-output "):
            event = self._extended_output(line[17:])
            if event is not None:
                return event
        if line.startswith(b"%begin "):
            self._block = self._header(line[7:])
            self._block_lines = []
            return None
        if not line.startswith(b"%"):
            return Stray(_text(line))
        name, _, args = line[1:].partition(b" ")
        return self._notification(_text(name), args)

    def _block_line(self, line: bytes) -> Event | None:
        assert self._block is not None
        ok = line.startswith(b"%end ")
        terminator = ok or line.startswith(b"%error ")
        # A real terminator repeats the %begin's number; a pane line that merely looks
        # like one does not.
        if terminator and self._header(line.partition(b" ")[2])[1] == self._block[1]:
            time, number, flags = self._block
            self._block = None
            return Reply(time, number, flags, ok, tuple(self._block_lines))
        match = _IN_BLOCK_NOTIFICATION.fullmatch(line)
        if match is not None:
            pane = match.group(2).decode("ascii")
            return Pause(pane) if match.group(1) == b"pause" else Continue(pane)
        self._block_lines.append(_text(line))
        return None

    @staticmethod
    def _extended_output(args: bytes) -> ExtendedOutput | None:
        head, sep, raw = args.partition(b" : ")
        words = head.split(b" ")
        if sep and len(words) >= 2 and words[1].isdigit():
            return ExtendedOutput(words[0].decode("ascii", "replace"), int(words[1]), raw)
        return None  # malformed: passed through as a generic notification

    @staticmethod
    def _header(args: bytes) -> tuple[int, int, int]:
        parts = args.split(b" ")
        values = [int(p) if p.isdigit() else -1 for p in parts[:3]]
        values += [-1] * (3 - len(values))
        return values[0], values[1], values[2]

    def _notification(self, name: str, args: bytes) -> Event:
        if name == "pause":
            return Pause(_text(args))
        elif name == "continue":
            return Continue(_text(args))
        elif name == "window-add":
            return WindowAdd(_text(args))
        elif name == "window-close":
            return WindowClose(_text(args))
        elif name == "unlinked-window-close":
            return UnlinkedWindowClose(_text(args))
        elif name == "window-renamed":
            window, new_name = _words(args, 2)
            return WindowRenamed(window, new_name)
        elif name == "session-changed":
            session, session_name = _words(args, 2)
            return SessionChanged(session, session_name)
        elif name == "sessions-changed":
            return SessionsChanged()
        elif name == "layout-change":
            window, layout, visible, flags = _words(args, 4)
            return LayoutChange(window, layout, visible, flags)
        elif name == "exit":
            return Exit(_text(args) if args else None)
        return Notification(name, _text(args))
