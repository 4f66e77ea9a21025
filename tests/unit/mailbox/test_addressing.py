"""Addressing: an agent's name first, then a role, then `all`; never the sender by broadcast."""

from __future__ import annotations

from pathlib import Path

import pytest

from missionctl.errors import UserError
from missionctl.mailbox import Mailbox

ROOT = Path("/nonexistent/mailbox")  # resolving names must not touch the disk


@pytest.fixture
def box() -> Mailbox:
    return Mailbox(
        ROOT,
        ["chief", "r1", "r2", "r3"],
        roles={"chief": ["chief"], "researcher": ["r1", "r2", "r3"]},
    )


@pytest.mark.parametrize(
    ("to", "sender", "expected"),
    [
        ("r1", "human", ["r1"]),
        ("human", "r1", ["human"]),
        ("r1", "r1", ["r1"]),  # a note to yourself, by name
        ("researcher", "r1", ["r2", "r3"]),
        ("researcher", "chief", ["r1", "r2", "r3"]),
        ("all", "r2", ["chief", "r1", "r3", "human"]),
        ("all", "human", ["chief", "r1", "r2", "r3"]),
        ("r2,r1", "human", ["r2", "r1"]),
        (["r1", "r1, r2", "researcher"], "human", ["r1", "r2", "r3"]),
        # "chief" is an agent's name as well as a role: the name wins.
        ("chief", "chief", ["chief"]),
    ],
)
def test_resolve(box: Mailbox, to: str | list[str], sender: str, expected: list[str]) -> None:
    assert box.resolve(to, sender) == expected


def test_unknown_recipient_lists_every_valid_address(box: Mailbox) -> None:
    with pytest.raises(UserError) as err:
        box.resolve("r9", "human")
    text = str(err.value)
    assert "unknown recipient 'r9'" in text
    for name in ("chief", "r1", "r2", "r3", "human", "researcher", "all"):
        assert name in text


def test_a_role_with_nobody_but_the_sender_is_an_error() -> None:
    box = Mailbox(ROOT, ["solo"], roles={"researcher": ["solo"], "chief": []})
    with pytest.raises(UserError, match="no researcher besides solo"):
        box.resolve("researcher", "solo")
    with pytest.raises(UserError, match="the org has no chief to send to"):
        box.resolve("chief", "solo")
    assert box.resolve("all", "solo") == ["human"]


def test_no_recipient_is_an_error(box: Mailbox) -> None:
    with pytest.raises(UserError, match="no recipient given"):
        box.resolve(" , ", "human")


def test_human_is_always_a_recipient_and_names_are_validated() -> None:
    assert Mailbox(ROOT, ["r1"]).recipients == ("r1", "human")
    with pytest.raises(UserError, match="not a valid name"):
        Mailbox(ROOT, ["../etc"])


def test_folder_refuses_names_that_are_not_recipients(box: Mailbox) -> None:
    assert box.folder("r1") == ROOT / "r1"
    for name in ("r9", "..", "../r1", "R1"):
        with pytest.raises(UserError, match="has no mailbox"):
            box.folder(name)
