"""Every key of the grid, once: its bindings, its command-palette entry and its help row.

The rows are data, in `keys.toml` beside this module: one table per key with named
fields reads better than a long call per key. The grid screen's BINDINGS, the
command palette and the help screen are all built from ACTIONS, and a test checks
that README.md's key table is `key_table()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgspec
from textual.binding import Binding

KEYS_FILE = Path(__file__).with_name("keys.toml")


@dataclass(frozen=True)
class KeyAction:
    """One row of the key table."""

    keys: str  # how the keys read in the help and the README
    does: str  # what they do
    bindings: tuple[Binding, ...]
    # (title, help) in the command palette, for the first binding's action; None: not there.
    palette: tuple[str, str] | None = None

    @property
    def action(self) -> str:
        """The grid action of the first binding, without arguments (`takeover`)."""
        return self.bindings[0].action.split("(")[0]


class _BindingRow(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    action: str
    label: str
    show: bool = True
    priority: bool = False


class _Row(msgspec.Struct, forbid_unknown_fields=True):
    keys: str
    does: str
    bindings: list[_BindingRow] = []
    palette: tuple[str, str] | None = None


class _KeyMap(msgspec.Struct, forbid_unknown_fields=True):
    key: list[_Row]


def load(path: Path = KEYS_FILE) -> tuple[KeyAction, ...]:
    """The key table in `path` (a malformed file is a bug in missionctl: it raises)."""
    rows = msgspec.toml.decode(path.read_bytes(), type=_KeyMap).key
    return tuple(
        KeyAction(
            row.keys,
            row.does,
            tuple(
                Binding(b.key, b.action, b.label, show=b.show, priority=b.priority)
                for b in row.bindings
            ),
            row.palette,
        )
        for row in rows
    )


ACTIONS = load()


def bindings() -> list[Binding | tuple[str, str] | tuple[str, str, str]]:
    """The grid screen's BINDINGS (typed as Textual declares them)."""
    return [binding for row in ACTIONS for binding in row.bindings]


def key_table() -> str:
    """The key table as Markdown: the help screen shows it, README.md carries it."""
    rows = ["| key | what it does |", "|---|---|"]
    rows += [f"| {row.keys} | {row.does} |" for row in ACTIONS]
    return "\n".join(rows)
