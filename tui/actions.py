"""Every key of the grid, once: its bindings, its command-palette entry and its help row.

The grid screen's BINDINGS, the command palette and the help screen are all built
from ACTIONS, and a test checks that README.md's key table is `key_table()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


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


def _b(keys: str, action: str, label: str, show: bool = True, priority: bool = False) -> Binding:
    return Binding(keys, action, label, show=show, priority=priority)


ACTIONS: tuple[KeyAction, ...] = (
    KeyAction(
        "arrows, `1`-`9`",
        "select an agent; two digits in quick succession for agent 10 on (`1` `7`: agent 17)",
        (
            # No h/j/k/l: `l` opens the ledger. Ahead of the focused mail feed, which
            # would scroll on up and down.
            _b("left", "move(-1, 0)", "Left", False, True),
            _b("right", "move(1, 0)", "Right", False, True),
            _b("up", "move(0, -1)", "Up", False, True),
            _b("down", "move(0, 1)", "Down", False, True),
            *(_b(str(i), f"select_digit({i})", f"Agent {i}", False) for i in range(10)),
        ),
    ),
    KeyAction(
        "`[` `]`, PgUp PgDn",
        "the previous / next page of agents, when they do not all fit (the roster line"
        " above the grid shows every agent's state)",
        (
            _b("left_square_bracket,pageup", "page(-1)", "Page back", False),
            _b("right_square_bracket,pagedown", "page(1)", "Page on", False),
        ),
    ),
    KeyAction(
        "`Enter`",
        "take over the agent's real terminal; `C-]` comes back to the grid (in a browser,"
        " with no terminal to hand over: live send, as `i`)",
        (_b("enter", "takeover", "Take over"),),
        ("Take over the selected agent", "attach its terminal; C-] comes back"),
    ),
    KeyAction(
        "`i`",
        "type into the selected agent without leaving the grid (live send): every key"
        " goes to its terminal, paste included, until `C-]`",
        (_b("i", "live", "Type into"),),
        ("Type into the selected agent", "live send; C-] comes back"),
    ),
    KeyAction(
        "`p`",
        "pause the agent and everything it started (again: resume)",
        (_b("p", "pause", "Pause"),),
        ("Pause or resume the selected agent", "freeze or thaw its whole tree"),
    ),
    KeyAction(
        "`x`",
        "kill the agent and everything it started (asks first)",
        (_b("x", "kill", "Kill"),),
        ("Kill the selected agent", "asks first"),
    ),
    KeyAction(
        "`r`",
        "restart the agent in its window and worktree",
        (_b("r", "restart", "Restart"),),
        ("Restart the selected agent", "same window and worktree"),
    ),
    KeyAction(
        "`m`",
        "write mail to the selected agent",
        (_b("m", "mail", "Mail"),),
        ("Mail the selected agent", "as the human"),
    ),
    KeyAction(
        "`b`",
        "write mail to every agent",
        (_b("b", "broadcast", "Broadcast"),),
        ("Broadcast mail", "to every agent"),
    ),
    KeyAction(
        "`s`",
        "call a standup now (replies come to you)",
        (_b("s", "standup", "Standup", False),),
        ("Call a standup", "every agent replies to you"),
    ),
    KeyAction(
        "`d`",
        "the latest standup digest: each agent's reply and what the ledger says changed",
        (_b("d", "digest", "Digest", False),),
        ("Show the standup digest", "replies and ledger changes since the last one"),
    ),
    KeyAction(
        "`l`",
        "the ledger: experiments, verdicts, the org's progress curve (Enter: one experiment)",
        (_b("l", "ledger", "Ledger"),),
        ("Open the ledger", "experiments, verdicts, progress"),
    ),
    KeyAction(
        "`f`",
        "focus layout: the selected agent large, the others small",
        (_b("f", "focus_layout", "Focus"),),
        ("Toggle the focus layout", "one agent large"),
    ),
    KeyAction(
        "`u`",
        "start the org if it is not running (`missionctl up`)",
        (_b("u", "up", "Start org", False),),
        ("Start the org", "missionctl up"),
    ),
    KeyAction("`?`", "this help", (_b("question_mark", "help", "Help"),)),
    KeyAction("`ctrl+p`", "command palette (every action by name)", ()),
    KeyAction(
        "`q`",
        "quit; the org keeps running (`missionctl` comes back to it)",
        (_b("q", "quit_keep", "Quit"),),
        ("Quit, keep the org running", "missionctl comes back to it"),
    ),
    KeyAction(
        "`Q`",
        "stop the whole org and quit (asks first)",
        (_b("Q", "stop_and_quit", "Stop org+quit"),),
        ("Stop the org and quit", "asks first"),
    ),
)


def bindings() -> list[Binding | tuple[str, str] | tuple[str, str, str]]:
    """The grid screen's BINDINGS (typed as Textual declares them)."""
    return [binding for row in ACTIONS for binding in row.bindings]


def key_table() -> str:
    """The key table as Markdown: the help screen shows it, README.md carries it."""
    rows = ["| key | what it does |", "|---|---|"]
    rows += [f"| {row.keys} | {row.does} |" for row in ACTIONS]
    return "\n".join(rows)
