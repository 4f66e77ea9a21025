"""A small stateful SGR decoder for `capture-pane -e` lines.

tmux writes each captured row as text with SGR escapes relative to the style the
previous row ended in (it does not reset between rows), so a row can only be
decoded given its incoming style. `decode` takes (incoming style, raw row) and
returns the styled runs plus the outgoing style; the pane mirror caches on that key
instead of re-parsing whole screens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style

# A palette index 0-255 (0-15 are the 16 ANSI colours) or a truecolor (r, g, b).
Color = int | tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Sgr:
    """The graphic rendition in force: colours and attributes (hashable, for caching)."""

    fg: Color | None = None
    bg: Color | None = None
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    blink: bool = False
    reverse: bool = False
    conceal: bool = False
    strike: bool = False
    overline: bool = False
    # DEC line drawing, switched by SO/SI: tmux emits those for such cells.
    charset: bool = False


PLAIN = Sgr()
_LINE_DRAWING = Sgr(charset=True)

# CSI sequences (SGR among them), OSC strings (hyperlinks), other escapes, C0 controls.
_CONTROL = re.compile(
    r"\x1b\[([0-?]*)([ -/]*)([@-~])"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\|$)"
    r"|\x1b[ -/]*[0-~]?"
    r"|[\x00-\x1f\x7f]"
)

# DEC special graphics as drawn by terminals: `lqqk` is a box corner and edges.
_DEC_GRAPHICS = str.maketrans(
    {
        "`": "◆", "a": "▒", "f": "°", "g": "±", "j": "┘", "k": "┐", "l": "┌",
        "m": "└", "n": "┼", "o": "⎺", "p": "⎻", "q": "─", "r": "⎼", "s": "⎽",
        "t": "├", "u": "┤", "v": "┴", "w": "┬", "x": "│", "y": "≤", "z": "≥",
        "{": "π", "|": "≠", "}": "£", "~": "·",
    }
)  # fmt: skip

_ON = {1: "bold", 2: "dim", 3: "italic", 4: "underline", 5: "blink", 6: "blink",
       7: "reverse", 8: "conceal", 9: "strike", 21: "underline", 53: "overline"}  # fmt: skip
_OFF: dict[int, tuple[str, ...]] = {
    22: ("bold", "dim"), 23: ("italic",), 24: ("underline",), 25: ("blink",),
    27: ("reverse",), 28: ("conceal",), 29: ("strike",), 55: ("overline",),
}  # fmt: skip


def _number(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _extended_color(params: list[list[str]], i: int) -> tuple[Color | None, int]:
    """The colour of a 38/48/58 at `params[i]`; returns it and the next index.

    Accepts both `38;5;n` / `38;2;r;g;b` and the colon forms `38:5:n` / `38:2::r:g:b`.
    """
    sub = params[i]
    if len(sub) > 1:  # colon form: everything is in this one parameter
        args = [_number(s) for s in sub[1:]]
        if args and args[0] == 5 and len(args) >= 2:
            return args[1] & 0xFF, i + 1
        if args and args[0] == 2 and len(args) >= 4:
            r, g, b = args[-3:]
            return (r & 0xFF, g & 0xFF, b & 0xFF), i + 1
        return None, i + 1
    kind = _number(params[i + 1][0]) if i + 1 < len(params) else 0
    if kind == 5 and i + 2 < len(params):
        return _number(params[i + 2][0]) & 0xFF, i + 3
    if kind == 2 and i + 4 < len(params):
        r, g, b = (_number(params[i + k][0]) & 0xFF for k in (2, 3, 4))
        return (r, g, b), i + 5
    return None, len(params)  # malformed: ignore the rest rather than misread it


def apply_sgr(style: Sgr, params: str) -> Sgr:
    """The style after `ESC [ params m` is applied to `style`."""
    parsed = [p.split(":") for p in params.split(";")] if params else [["0"]]
    changes: dict[str, object] = {}
    i = 0
    while i < len(parsed):
        sub = parsed[i]
        code = _number(sub[0])
        if code == 0:
            # Reset leaves the character set alone: SO/SI are not part of SGR.
            style, changes = (_LINE_DRAWING if style.charset else PLAIN), {}
        elif code == 4 and len(sub) > 1:
            changes["underline"] = _number(sub[1]) != 0  # 4:0 is "no underline"
        elif code in _ON:
            changes[_ON[code]] = True
        elif code in _OFF:
            for name in _OFF[code]:
                changes[name] = False
        elif 30 <= code <= 37:
            changes["fg"] = code - 30
        elif 90 <= code <= 97:
            changes["fg"] = code - 90 + 8
        elif 40 <= code <= 47:
            changes["bg"] = code - 40
        elif 100 <= code <= 107:
            changes["bg"] = code - 100 + 8
        elif code == 39:
            changes["fg"] = None
        elif code == 49:
            changes["bg"] = None
        elif code in (38, 48, 58):
            color, i = _extended_color(parsed, i)
            if code != 58:  # underline colour: read past it, not shown
                changes["fg" if code == 38 else "bg"] = color
            continue
        i += 1
    return replace(style, **changes) if changes else style  # type: ignore[arg-type]


@lru_cache(maxsize=4096)
def _after_sgr(style: Sgr, params: str) -> Sgr:
    # A screen uses a handful of (style, escape) pairs; parsing each again made up a
    # third of decoding a flood of new rows.
    return apply_sgr(style, params)


@lru_cache(maxsize=64)
def _with_charset(style: Sgr, charset: bool) -> Sgr:
    return replace(style, charset=charset)


def decode(line: str, incoming: Sgr) -> tuple[list[tuple[str, Sgr]], Sgr]:
    """Split a captured row into (text, style) runs; return them and the outgoing style."""
    runs: list[tuple[str, Sgr]] = []
    style = incoming
    pos = 0
    for match in _CONTROL.finditer(line):
        start = match.start()
        if start > pos:
            text = line[pos:start]
            runs.append((text.translate(_DEC_GRAPHICS) if style.charset else text, style))
        pos = match.end()
        if match.group(3) == "m" and not match.group(2):
            style = _after_sgr(style, match.group(1))
        else:
            char = match.group(0)
            if char == "\x0e":
                style = _with_charset(style, True)
            elif char == "\x0f":
                style = _with_charset(style, False)
            # Anything else (cursor moves, titles, bells) has no place in a still screen.
    if pos < len(line):
        text = line[pos:]
        runs.append((text.translate(_DEC_GRAPHICS) if style.charset else text, style))
    return runs, style


def _rich_color(color: Color | None) -> RichColor | None:
    if color is None:
        return None
    if isinstance(color, int):
        return RichColor.from_ansi(color)
    return RichColor.from_rgb(*color)


@lru_cache(maxsize=4096)
def rich_style(style: Sgr) -> Style:
    """The Rich style for an `Sgr` (cached: a screen uses a handful of styles)."""
    if style in (PLAIN, _LINE_DRAWING):
        return Style()
    return Style(
        color=_rich_color(style.fg),
        bgcolor=_rich_color(style.bg),
        bold=style.bold or None,
        dim=style.dim or None,
        italic=style.italic or None,
        underline=style.underline or None,
        blink=style.blink or None,
        reverse=style.reverse or None,
        conceal=style.conceal or None,
        strike=style.strike or None,
        overline=style.overline or None,
    )


def segments(line: str, incoming: Sgr) -> tuple[list[Segment], Sgr]:
    """A captured row as Rich segments, and the style it hands to the next row."""
    runs, outgoing = decode(line, incoming)
    return [Segment(text, rich_style(style)) for text, style in runs], outgoing
