"""Terminal notifications: the bell, and a desktop notification where the terminal
supports one (OSC 9: iTerm2, Windows Terminal, kitty, WezTerm, Ghostty; OSC 777:
foot, rxvt-unicode, VTE terminals, Ghostty). Terminals without them ignore the
sequences. Pure: the app writes what this returns."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _plain(text: str, limit: int = 160) -> str:
    # Nothing that could end the sequence early or start another.
    return _UNSAFE.sub(" ", text)[:limit]


def terminal_alert(title: str, body: str, *, inside_tmux: bool = False) -> str:
    """The bell plus OSC 9 and OSC 777 notifications of `title` and `body`.

    Inside tmux each OSC is wrapped for passthrough (shown where the user's tmux
    has `allow-passthrough on`; dropped by tmux otherwise).
    """
    title, body = _plain(title), _plain(body)
    sequences = [
        f"\x1b]9;{title}: {body}\x07",
        f"\x1b]777;notify;{title.replace(';', ',')};{body.replace(';', ',')}\x07",
    ]
    if inside_tmux:
        sequences = [f"\x1bPtmux;{s.replace(chr(27), chr(27) * 2)}\x1b\\" for s in sequences]
    return "\x07" + "".join(sequences)
