"""The roster: one line with every agent's state, shown above the grid when it has pages.

Agents on other pages are not drawn (nor captured), so this line is how their
state reaches the screen: a glyph per agent, coloured by state, the page on
screen in bold and the selected agent reversed, as much of each as the width holds.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from missionctl.agents.org.monitor import AgentView

Glyph = tuple[str, str]  # (character, Rich style)
# Each state's glyph; exited(N) is looked up as "exited" (or "exited-ok" for 0).
GLYPHS: dict[str, Glyph] = {
    "working": ("●", "green"),
    "idle": ("○", ""),
    "needs-you": ("!", "bold black on yellow"),
    "paused": ("‖", "magenta"),
    "taken-over": ("▸", "cyan"),
    "exited": ("✕", "bold red"),
    "exited-ok": ("·", "dim"),
    "starting": ("…", "blue"),
    "down": ("-", "dim"),
    "unknown": ("?", "dim"),
}


def glyph(view: AgentView | None) -> Glyph:
    """The roster's glyph and style for an agent (unknown before the first snapshot)."""
    if view is None:
        return GLYPHS["unknown"]
    state = view.state
    if state.is_exited:
        return GLYPHS["exited-ok" if state.exit_code == 0 else "exited"]
    return GLYPHS.get(state.name, GLYPHS["unknown"])


def roster_text(
    names: Sequence[str],
    views: Sequence[AgentView | None],
    page_size: int,
    page_number: int,
    selected: int,
    width: int,
) -> Text:
    """The richest roster that fits `width`: names, then numbers, then glyphs alone."""
    size = max(page_size, 1)
    pages = -(-len(names) // size)
    page = range(page_number * size, (page_number + 1) * size)
    prefix = f" page {page_number + 1}/{pages} [ ] "
    attention = [n for n, v in zip(names, views, strict=True) if v and v.state.name == "needs-you"]
    for form in ("names", "numbers", "glyphs"):
        text = Text(prefix, style="bold")
        for i, (name, view) in enumerate(zip(names, views, strict=True)):
            mark, style = glyph(view)
            if form == "glyphs":
                if i and i % size == 0:
                    text.append(" ")  # a gap between pages
                token = mark
            else:
                label = f"{i + 1} {name}" if form == "names" else str(i + 1)
                token = f"{label}{mark} "
            token_style = style
            if i in page:
                token_style = f"{style} underline".strip()
            if i == selected:
                token_style = f"{token_style} reverse"
            text.append(token, style=token_style)
        if attention:
            text.append("  needs you: " + ", ".join(attention), style="bold yellow")
        if cell_len(text.plain) <= width or form == "glyphs":
            text.truncate(max(width, 0))
            return text
    raise AssertionError("unreachable")  # the last form always returns


class Roster(Static):
    """Every agent's state in one line; `show()` redraws it only when it changed."""

    _shown: Text | None = None

    def show(self, text: Text) -> None:
        if text == self._shown:
            return
        self._shown = text
        self.update(text, layout=False)  # one fixed row: no layout pass
