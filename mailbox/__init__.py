"""missionctl.mailbox: the Maildir mailbox between agents and the human.

`Mailbox` (store.py) sends, lists and reads; `MailWatcher` (watcher.py) reports
new mail to the app and the supervisor. The watcher needs watchdog, so it loads
on first use: `missionctl mail send` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from missionctl.mailbox.message import KINDS, MAX_BODY_BYTES, MalformedMessage, Message
from missionctl.mailbox.store import HUMAN, Envelope, Mailbox

if TYPE_CHECKING:
    from missionctl.mailbox.watcher import MailWatcher, follow

__all__ = [
    "HUMAN",
    "KINDS",
    "MAX_BODY_BYTES",
    "Envelope",
    "MailWatcher",
    "Mailbox",
    "MalformedMessage",
    "Message",
    "follow",
]


def __getattr__(name: str) -> object:
    if name in ("MailWatcher", "follow"):
        from missionctl.mailbox import watcher

        return getattr(watcher, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
