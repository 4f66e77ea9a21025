"""The supervisor's claim desk: every claim gets the ledger's answer within seconds.

A claim (mail of kind `claim`, from `missionctl claim` or `mail send --kind
claim`) lands in the chief's mailbox, or the human's in a flat org. The mail
watcher hands it to the desk as it arrives; the supervisor's loop asks the
ledger (`Ledger.answer_claim`, which records the claim and its answer) and
replies to the claimant, copying the chief (or the human, when the chief
claims or there is none). The ledger's record is what makes a claim answered:
a claim seen twice (a broadcast's copies, a restart) is answered once.
"""

from __future__ import annotations

import queue
import sqlite3
from collections.abc import Callable

from missionctl.agents.supervision import SENDER
from missionctl.errors import UserError
from missionctl.ledger import Ledger
from missionctl.ledger.claims import ClaimRequest, excerpt
from missionctl.mailbox import HUMAN, Mailbox, Message
from missionctl.workspace import Workspace


class ClaimDesk:
    """Claims in (from the watcher's thread), answers out (from the supervisor's loop)."""

    def __init__(self, ws: Workspace, box: Mailbox, log: Callable[[str], None]) -> None:
        self.ws = ws
        self.box = box
        self.log = log
        self.waiting: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self.seen: set[str] = set()  # claim ids handled by this process

    def offer(self, message: Message) -> bool:
        """Take `message` if it is a claim (any thread); True when it was one."""
        if message.kind != "claim" or message.sender == SENDER:
            return False
        self.waiting.put(message)
        return True

    def sweep(self) -> None:
        """Queue every claim in any mailbox, read or not (the ledger skips answered ones):
        claims sent while no supervisor ran are answered when one starts."""
        for envelope in self.box.all_envelopes():
            self.offer(envelope.message)

    def answer_waiting(self) -> list[Message]:
        """Answer the claims that arrived; return the replies sent."""
        sent: list[Message] = []
        while True:
            try:
                claim = self.waiting.get_nowait()
            except queue.Empty:
                return sent
            if claim.id in self.seen:
                continue  # another copy of the same claim
            self.seen.add(claim.id)
            try:
                sent += self._answer(claim)
            except (UserError, OSError, sqlite3.Error) as exc:
                self.log(f"could not answer claim {claim.id} from {claim.sender}: {exc}")

    def _answer(self, claim: Message) -> list[Message]:
        with Ledger.open(self.ws) as ledger:
            if ledger.claim(claim.id) is not None:
                return []  # answered before (by this supervisor or an earlier one)
            answer = ledger.answer_claim(
                ClaimRequest(
                    id=claim.id,
                    claimant=claim.sender,
                    sent=claim.time.timestamp(),
                    text=excerpt("", claim.body),
                    experiment=claim.experiment,
                    runs=list(claim.runs),
                )
            )
        to = [n for n in (claim.sender, *self.copied(claim.sender)) if n in self.box.recipients]
        replies = self.box.send(
            SENDER,
            list(dict.fromkeys(to)),
            answer.body(),
            kind="result",
            subject=answer.subject,
            runs=claim.runs,
            experiment=claim.experiment,
            reply_to=claim.id,
        )
        self.log(
            f"claim from {claim.sender} {'accepted' if answer.accepted else 'refused'}"
            f" ({answer.decision}); told {', '.join(m.to for m in replies)}"
        )
        return replies

    def copied(self, claimant: str) -> list[str]:
        """Who reads the answer besides the claimant: the chief, else the human."""
        chiefs = [n for n in self.box.roles.get("chief", ()) if n != claimant]
        return chiefs or [HUMAN]
