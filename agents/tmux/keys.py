"""Keys and pastes as tmux commands: what live send types into an agent's pane. Pure.

The app names keys as terminals report them (`up`, `ctrl+c`, `shift+tab`, `f5`)
with the character a key types, if any; tmux's own key names (`Up`, `C-Up`, `BTab`)
and its quoting stay here, behind `ControlClient.send_key` and `.paste`.
"""

from __future__ import annotations

import shlex

# Key names without a character -> tmux's names (tmux(1), "KEY BINDINGS").
_NAMED = {
    "up": "Up", "down": "Down", "left": "Left", "right": "Right",
    "home": "Home", "end": "End", "pageup": "PPage", "pagedown": "NPage",
    "insert": "IC", "delete": "DC", "backspace": "BSpace", "tab": "Tab",
    "enter": "Enter", "escape": "Escape", "space": "Space",
    **{f"f{n}": f"F{n}" for n in range(1, 13)},
}  # fmt: skip
_MODIFIERS = {"ctrl": "C-", "alt": "M-", "meta": "M-", "shift": "S-"}
# A paste goes to tmux in pieces this long: one control-mode command line each.
PASTE_CHUNK = 2048


class UnknownKey(ValueError):
    """A key with no character that tmux has no name for."""


def tmux_name(key: str) -> str:
    """tmux's name for a key without a character: `ctrl+up` -> `C-Up`, `shift+tab` -> `BTab`."""
    *mods, base = key.lower().split("+")
    if base == "tab" and mods == ["shift"]:
        return "BTab"
    name = _NAMED.get(base)
    if name is None:
        if len(base) == 1 and base.isalnum():
            name = base
        else:
            raise UnknownKey(key)
    prefix = ""
    for mod in mods:
        if mod not in _MODIFIERS:
            raise UnknownKey(key)
        prefix += _MODIFIERS[mod]
    return prefix + name


def double_quoted(text: str) -> str:
    """`text` as one tmux double-quoted word, byte for byte: nothing expanded (`$`, a
    leading `~`), line breaks and control characters escaped. NUL cannot be carried
    (tmux ends the string there) and is dropped."""
    out = ['"']
    for ch in text:
        if ch in '\\"$~':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\0":
            continue
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def key_command(pane: str, key: str, character: str | None) -> str:
    """The one tmux command that types `key` into `pane`.

    A control character (Enter's CR, Ctrl-C's ETX, Backspace's DEL) goes as its byte
    (`-H`), so the program sees exactly what a terminal would send; printable text
    goes literally (`-l`); other keys by tmux's name for them.
    """
    target = shlex.quote(pane)
    if character:
        if len(character) == 1 and (ord(character) < 0x20 or ord(character) == 0x7F):
            return f"send-keys -t {target} -H {ord(character):02x}"
        return f"send-keys -t {target} -l -- {double_quoted(character)}"
    return f"send-keys -t {target} {shlex.quote(tmux_name(key))}"


def paste_commands(pane: str, buffer: str, text: str) -> list[str]:
    """The tmux commands that paste `text` into `pane` through the named buffer: set
    (in pieces), then paste bracketed if the program asked for it, and delete."""
    pieces = [text[i : i + PASTE_CHUNK] for i in range(0, len(text), PASTE_CHUNK)] or [""]
    name = shlex.quote(buffer)
    lines = [f"set-buffer -b {name} -- {double_quoted(pieces[0])}"]
    lines += [f"set-buffer -a -b {name} -- {double_quoted(p)}" for p in pieces[1:]]
    lines.append(f"paste-buffer -p -d -b {name} -t {shlex.quote(pane)}")
    return lines
