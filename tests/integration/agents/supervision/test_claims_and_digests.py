"""The running supervisor answers claims from the ledger and mails one digest per standup."""

from __future__ import annotations

import time
from collections.abc import Callable

from missionctl.agents.org.hub import Hub
from missionctl.agents.supervision.standup import latest_digest
from missionctl.ledger import Ledger
from missionctl.mailbox import Envelope, Mailbox, Message
from tests.helpers import never, run_missionctl, wait_for

ORG = (
    '[[agent]]\nname = "chief"\nrole = "chief"\nprovider = "shell"\n\n'
    '[[agent]]\nname = "r1"\nrole = "researcher"\nprovider = "shell"\n\n'
    '[[agent]]\nname = "r2"\nrole = "researcher"\nprovider = "shell"\n'
)
HIERARCHICAL = 'structure = "hierarchical"\n[standup]\nwait = "5s"\n'


def _reply_to(box: Mailbox, name: str, claim_id: str) -> Message | None:
    return next(
        (e.message for e in box.envelopes(name, include_read=True)
         if e.message.reply_to == claim_id),
        None,
    )  # fmt: skip


def test_claims_are_answered_within_seconds_and_recorded(hub_factory: Callable[..., Hub]) -> None:
    hub = hub_factory(ORG, HIERARCHICAL)
    hub.up()
    root = hub.ws.root
    box = Mailbox.for_workspace(hub.ws)
    sent_at = time.monotonic()
    proc = run_missionctl(
        ["claim", "--exp", "softcap-elsewhere", "--run", "r1-20990101T000000-beef",
         "bigger is better"],
        cwd=root, env={"MISSIONCTL_AGENT": "r1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "to chief" in proc.stdout
    claim_id = proc.stdout.split()[2]
    answer = wait_for(lambda: _reply_to(box, "r1", claim_id), timeout=10, message="the answer")
    assert time.monotonic() - sent_at < 10
    assert answer.sender == "supervisor" and answer.kind == "result"
    assert answer.subject == "the ledger on your claim: refused (unknown)"
    assert "there is no run r1-20990101T000000-beef in this workspace" in answer.body
    assert "there is no experiment 'softcap-elsewhere' in this workspace's ledger" in answer.body
    # The chief is copied (the same message), the human is not.
    copy = _reply_to(box, "chief", claim_id)
    assert copy is not None and copy.id == answer.id
    assert _reply_to(box, "human", claim_id) is None
    with Ledger.open(hub.ws) as ledger:
        recorded = ledger.claim(claim_id)
    assert recorded is not None and recorded.claim.claimant == "r1"
    assert recorded.decision == "unknown" and not recorded.accepted

    # The chief's own claim goes to the human, and its answer too; `mail send --kind
    # claim --exp` works the same. Each claim is answered once.
    proc = run_missionctl(
        ["mail", "send", "--to", "human", "--kind", "claim", "--exp", "nothing-here",
         "the softcap can go"],
        cwd=root, env={"MISSIONCTL_AGENT": "chief"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    second = proc.stdout.split()[1]
    wait_for(lambda: _reply_to(box, "human", second), timeout=10, message="the chief's answer")
    assert _reply_to(box, "chief", second) is not None

    def answers() -> list[Envelope]:
        return [e for name in ("r1", "chief", "human") for e in box.envelopes(name, True)
                if e.message.sender == "supervisor" and e.message.kind == "result"]  # fmt: skip

    never(lambda: len(answers()) > 4, seconds=1.0)  # no second answer to either claim
    replies = answers()
    assert sorted({e.message.reply_to for e in replies}) == sorted([claim_id, second])
    assert len(replies) == 4  # r1 and chief for the first; chief and human for the second


def test_a_standup_ends_with_one_digest_of_replies_and_ledger_changes(
    hub_factory: Callable[..., Hub],
) -> None:
    hub = hub_factory(ORG, HIERARCHICAL)
    (hub.ws.prompts_dir / "standup.md").write_text("Standup, lab style: one line, please.\n")
    hub.up()
    root = hub.ws.root
    box = Mailbox.for_workspace(hub.ws)
    # A refused claim before the standup: the digest reports it.
    proc = run_missionctl(["claim", "--exp", "nope", "it works"], cwd=root,
                          env={"MISSIONCTL_AGENT": "r2"})  # fmt: skip
    claim_id = proc.stdout.split()[2]
    wait_for(lambda: _reply_to(box, "r2", claim_id), timeout=10, message="the claim's answer")

    proc = run_missionctl(["standup"], cwd=root)
    assert proc.returncode == 0 and "asked 3 agents" in proc.stdout, proc.stderr
    asked = [e.message for e in box.envelopes("r1") if e.message.kind == "standup"]
    assert asked[0].body == "Standup, lab style: one line, please."  # org/prompts/standup.md
    run_missionctl(
        ["mail", "send", "--to", "human", "--kind", "standup", "--subject", "standup r1",
         "done: the baseline\nnext: the treatment\nblocked: nothing"],
        cwd=root, env={"MISSIONCTL_AGENT": "r1"},
    )  # fmt: skip
    # chief and r2 (plain shells) never reply: the digest comes when `wait` (5 s) is over.
    digest = wait_for(lambda: latest_digest(box), timeout=20, message="the digest")
    assert digest.sender == "supervisor" and digest.to == "human" and digest.kind == "standup"
    assert digest.subject == "standup digest: 1/3 replied; 0 verdicts, 1 claim refused"
    body = digest.body
    assert "r1: done: the baseline\n  next: the treatment\n  blocked: nothing" in body
    assert "chief: no reply" in body and "r2: no reply" in body
    assert "- claims refused: 1\n  - r2: 'it works' -> unknown (experiment nope)" in body
    assert "- experiments opened: none" in body and "- runs crashed: none" in body

    def digests() -> list[Envelope]:
        return [e for e in box.envelopes("human", True)
                if e.message.subject.startswith("standup digest")]  # fmt: skip

    # One digest per round, however long the supervisor keeps ticking.
    never(lambda: len(digests()) > 1, seconds=1.0)
    assert len(digests()) == 1
