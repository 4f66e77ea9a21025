"""Terminal notifications: the bell, and a desktop notification where the terminal
supports one (OSC 9: iTerm2, Windows Terminal, kitty, WezTerm, Ghostty; OSC 777:
foot, rxvt-unicode, VTE terminals, Ghostty). Terminals without them ignore the
sequences. Pure: the app writes what this returns."""

from __future__ import annotations

from missionctl.names import plain


def terminal_alert(title: str, body: str, *, inside_tmux: bool = False) -> str:
    """The bell plus OSC 9 and OSC 777 notifications of `title` and `body`.

    Inside tmux each OSC is wrapped for passthrough (shown where the user's tmux
    has `allow-passthrough on`; dropped by tmux otherwise).
    """
    # Nothing that could end the sequence early or start another.
    title, body = plain(title, 160), plain(body, 160)
    sequences = [
        f"\x1b]9;{title}: {body}\x07",
        f"\x1b]777;notify;{title.replace(';', ',')};{body.replace(';', ',')}\x07",
    ]
    if inside_tmux:
        sequences = [f"\x1bPtmux;{s.replace(chr(27), chr(27) * 2)}\x1b\\" for s in sequences]
    return "\x07" + "".join(sequences)
