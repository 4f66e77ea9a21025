"""`missionctl mail`: send, list, read and follow mail, for agents and people.

Agents run these verbs on nearly every turn, so this module imports only the
store: the watcher (and watchdog) load only for `mail watch`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable

from missionctl import identity, workspace
from missionctl.cliargs import parser
from missionctl.errors import UserError
from missionctl.mailbox.message import KINDS, MAX_BODY_BYTES, Message
from missionctl.mailbox.store import HUMAN, Envelope, Mailbox, check_name
from missionctl.names import plain
from missionctl.textable import format_table


def main(argv: list[str]) -> int:
    """Run `missionctl mail ARGV`; return the exit code."""
    ap = _parser()
    args = ap.parse_args(argv)
    if args.verb is None:
        ap.print_help()
        return 0
    ws = workspace.find()
    box = Mailbox.for_workspace(ws)
    me = _me()
    if args.verb == "send":
        return _send(box, me, args)
    who = check_name(args.agent, "--agent") if getattr(args, "agent", None) else me
    if args.verb == "inbox":
        return _inbox(box, who, args)
    if args.verb == "read":
        return _read(box, who, args)
    if args.verb == "thread":
        return _thread(box, args)
    return _watch(box, who, args)


_RAW_HELP = (
    "print the text exactly as sent, escape sequences included (default: shown as \\xNN,"
    " so mail cannot drive your terminal)"
)


def _parser() -> argparse.ArgumentParser:
    ap = parser(
        "mail",
        "Mail between the org's agents and you. The sender is the agent whose window the"
        " command runs in; outside the agents' windows, $MISSIONCTL_AGENT, else 'human'."
        "\n\nexamples:\n"
        "  missionctl mail send --to chief --kind result --run r1-0007 'softcap off: -0.2% bpb'\n"
        "  git diff | missionctl mail send --to r2 --subject 'my patch' -\n"
        "  missionctl mail inbox\n"
        "  missionctl mail read --next",
    )
    verbs = ap.add_subparsers(dest="verb", metavar="VERB")

    send = verbs.add_parser("send", help="send a message (to an agent, a role, or all)")
    send.add_argument(
        "--to",
        action="append",
        metavar="NAME",
        help="an agent, 'human', a role (researcher, chief) or 'all'; repeat or comma-separate"
        " for several (default with --reply-to: the original sender)",
    )
    send.add_argument("--kind", default="note", help=f"one of {', '.join(KINDS)} (default: note)")
    send.add_argument("--subject", default="", help="one line (default: none)")
    send.add_argument(
        "--run", action="append", default=[], metavar="ID", help="a run this refers to (repeat)"
    )
    send.add_argument("--experiment", "--exp", metavar="ID", help="the experiment this refers to")
    send.add_argument("--reply-to", metavar="ID", help="the message this answers")
    send.add_argument(
        "body", nargs="*", metavar="BODY", help="the message text, or '-' to read it from stdin"
    )

    inbox = verbs.add_parser("inbox", help="list your unread mail, oldest first")
    inbox.add_argument("--agent", metavar="NAME", help="whose mailbox (default: yours)")
    inbox.add_argument("--all", action="store_true", help="include mail already read")
    inbox.add_argument("--json", action="store_true", help="print JSON")

    read = verbs.add_parser("read", help="show a message and mark it read")
    read.add_argument("id", nargs="?", metavar="ID", help="the message id (or its start)")
    read.add_argument("--next", action="store_true", help="the oldest unread message")
    read.add_argument("--agent", metavar="NAME", help="whose mailbox (default: yours)")
    read.add_argument("--json", action="store_true", help="print JSON")
    read.add_argument("--raw", action="store_true", help=_RAW_HELP)

    thread = verbs.add_parser("thread", help="show a conversation: a message and its replies")
    thread.add_argument("id", metavar="ID", help="any message of the conversation")
    thread.add_argument("--json", action="store_true", help="print JSON")
    thread.add_argument("--raw", action="store_true", help=_RAW_HELP)

    watch = verbs.add_parser("watch", help="print messages as they arrive (Ctrl-C stops)")
    watch.add_argument("--agent", metavar="NAME", help="whose mailbox (default: yours)")
    watch.add_argument("--org", action="store_true", help="every mailbox of the org")
    watch.add_argument("--existing", action="store_true", help="first print unread mail waiting")
    watch.add_argument("--count", type=int, metavar="N", help="exit after N messages")
    watch.add_argument("--timeout", type=float, metavar="S", help="exit (code 1) after S seconds")
    watch.add_argument("--json", action="store_true", help="print one JSON object per line")
    return ap


def _me() -> str:
    """Who is calling: the agent whose window this process runs in (see
    `missionctl.identity`); outside every agent's window, the name in the
    environment, else the human. An agent cannot speak for another agent, the
    supervisor or the human: a claim that differs from its window is refused."""
    claimed = os.environ.get(workspace.ENV_AGENT)
    me = identity.caller()
    if me is not None:
        if claimed and claimed != me.agent:
            raise UserError(
                f"this process runs in agent {me.agent!r}'s window, so it cannot act as"
                f" {claimed!r}; unset ${workspace.ENV_AGENT} or set it to {me.agent!r}"
            )
        return me.agent
    return check_name(claimed or HUMAN, f"${workspace.ENV_AGENT}")


def _send(box: Mailbox, me: str, args: argparse.Namespace) -> int:
    body = _body(args.body, "mail send", "give the message text, or '-' to read it from stdin")
    subject: str = args.subject
    to: list[str] | None = args.to
    if args.reply_to and (not to or not subject):
        # Replying: default to the original's sender and subject when we have it.
        original = box.original(me, args.reply_to.strip().lower())
        if original is not None:
            to = to or [original.sender]
            if not subject:
                base = original.subject or original.headline
                subject = base if base.lower().startswith("re:") else f"Re: {base}"[:200]
    if not to:
        raise UserError(
            "mail send: say who it is for with --to NAME (an agent, human, a role, or all)"
        )
    reply_to = args.reply_to.strip().lower() if args.reply_to else None
    sent = box.send(
        me,
        to,
        body,
        kind=args.kind,
        subject=subject,
        runs=args.run,
        experiment=args.experiment,
        reply_to=reply_to,
    )
    print(f"sent {sent[0].id} to {', '.join(m.to for m in sent)}")
    return 0


def claim_main(argv: list[str]) -> int:
    """`missionctl claim`: mail a claim to the chief (the human in a flat org); the
    supervisor answers it with the ledger's verdict."""
    ap = parser(
        "claim",
        "Claim a result. The claim goes to the chief (in a flat org, or from the chief: to the"
        " human), and the supervisor answers it within seconds with the ledger's verdict on"
        " what it cites, copying them. Cite the preregistered experiment (--exp); runs"
        " outside it (--run) are checked against its arms, and bare runs get an analysis of"
        " why they settle nothing.\n\nexamples:\n"
        "  missionctl claim --exp softcap-off 'the softcap can go: non-inferior at 0.01'\n"
        "  missionctl claim --run r1-0007 --run r1-0009 'depth 4 beats depth 2'",
    )
    ap.add_argument("--exp", "--experiment", dest="experiment", metavar="ID",
                    help="the experiment whose verdict backs the claim")  # fmt: skip
    ap.add_argument(
        "--run", action="append", default=[], metavar="ID", help="a run the claim rests on (repeat)"
    )
    ap.add_argument("--to", metavar="NAME", help="who reads it (default: the chief, else human)")
    ap.add_argument("--subject", default="", help="one line (default: the claim's first line)")
    ap.add_argument("body", nargs="*", metavar="TEXT", help="the claim, or '-' to read stdin")
    args = ap.parse_args(argv)
    body = _body(
        args.body, "claim", "say what you claim, e.g. missionctl claim --exp ID 'X is better'"
    )
    if args.experiment is None and not args.run:
        raise UserError(
            "claim: cite the evidence: --exp ID (the preregistered experiment), or --run ID"
        )
    box = Mailbox.for_workspace(workspace.find())
    me = _me()
    to = args.to
    if to is None:
        chiefs = [n for n in box.roles.get("chief", ()) if n != me]
        to = ",".join(chiefs) if chiefs else HUMAN
    subject = args.subject or _claim_subject(body)
    sent = box.send(
        me, to, body, kind="claim", subject=subject, runs=args.run, experiment=args.experiment
    )
    print(
        f"sent claim {sent[0].id} to {', '.join(m.to for m in sent)}; the supervisor answers"
        " with the ledger's verdict: `missionctl mail inbox`"
    )
    return 0


def _claim_subject(body: str) -> str:
    line = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
    text = "claim: " + plain(line)
    return text if len(text) <= 120 else text[:119] + "…"


def _body(words: list[str], command: str, missing: str) -> str:
    """The text given as words on the command line, or on stdin for a lone '-'.

    stdin only when asked for: an agent's tool may hand over a pipe that never
    closes, and the command must not hang on it. `missing`: the fix when no text
    was given.
    """
    if words != ["-"]:
        if not words:
            raise UserError(f"{command}: {missing}")
        return " ".join(words)
    raw = sys.stdin.buffer.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise UserError(
            f"{command}: the body on stdin is over {MAX_BODY_BYTES:,} bytes; the limit is"
            f" {MAX_BODY_BYTES:,}: send a shorter message, or a path to a file"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{command}: the text on stdin is not UTF-8; send text only") from None


def _inbox(box: Mailbox, who: str, args: argparse.Namespace) -> int:
    envelopes = box.envelopes(who, include_read=args.all)
    if args.json:
        print(_json_text([_json(e) for e in envelopes], indent=2))
        return 0
    if not envelopes:
        print(f"no {'' if args.all else 'unread '}mail for {who}")
        return 0
    headers = ["id", "date", "from", "kind", "subject"]
    if args.all:
        headers.insert(1, "new")
    rows = []
    for e in envelopes:
        m = e.message
        row: list[object] = [m.id, _when(m), m.sender, m.kind, m.headline]
        if args.all:
            row.insert(1, "-" if e.read else "*")
        rows.append(row)
    print(format_table(headers, rows))
    if not args.all:
        print(f"\nread one with `missionctl mail read ID` (or `--next`); {len(rows)} unread")
    return 0


def _read(box: Mailbox, who: str, args: argparse.Namespace) -> int:
    if args.next == bool(args.id):
        raise UserError("mail read: give a message ID, or --next (not both)")
    if who != _me():
        # Looking into another mailbox must not take its mail: that agent would never be
        # told of it. Show it, leave it unread.
        if args.next:
            unread = box.inbox(who)
            if not unread:
                print(f"no unread mail for {who}", file=sys.stderr)
                return 1
            message = unread[0]
        else:
            message = box.find(who, args.id).message
    elif args.next:
        found = box.read_next(who)
        if found is None:
            print(f"no unread mail for {who}", file=sys.stderr)
            return 1
        message = found
    else:
        message = box.read(who, args.id)
    if args.json:
        print(_json_text(message.to_json(), indent=2))
    else:
        print(_full(message, [message.to], raw=args.raw))
    return 0


def _thread(box: Mailbox, args: argparse.Namespace) -> int:
    messages = box.thread(args.id)
    if args.json:
        print(_json_text([m.to_json() for m in messages], indent=2))
        return 0
    # Copies of one broadcast share an id: show them once, to everyone.
    grouped: dict[str, list[Message]] = {}
    for m in messages:
        grouped.setdefault(m.id, []).append(m)
    print("\n\n".join(_full(c[0], [m.to for m in c], raw=args.raw) for c in grouped.values()))
    return 0


def _watch(box: Mailbox, who: str, args: argparse.Namespace) -> int:
    from missionctl.mailbox.watcher import follow  # watchdog: only when watching

    if args.count is not None and args.count < 1:
        raise UserError("mail watch: --count must be at least 1")
    recipients = None if args.org else [box.folder(who).name]
    arrivals = follow(
        box, recipients=recipients, include_existing=args.existing, timeout=args.timeout
    )
    for seen, (_, message) in enumerate(arrivals, start=1):
        if args.json:
            print(_json_text(message.to_json()), flush=True)
        else:
            print(
                f"{_when(message)}  {message.sender} -> {message.to}  [{message.kind}]"
                f"  {message.headline}  ({message.id})",
                flush=True,
            )
        if args.count is not None and seen >= args.count:
            return 0
    return 1 if args.timeout is not None else 0


def _json(envelope: Envelope) -> dict[str, object]:
    return {**envelope.message.to_json(), "read": envelope.read}


def _when(message: Message) -> str:
    return message.time.astimezone().strftime("%Y-%m-%d %H:%M")


def _full(message: Message, to: Iterable[str], *, raw: bool = False) -> str:
    lines = [
        f"id:       {message.id}",
        f"date:     {message.time.astimezone().strftime('%Y-%m-%d %H:%M:%S %Z')}",
        f"from:     {message.sender}",
        f"to:       {', '.join(to)}",
        f"kind:     {message.kind}",
    ]
    if message.subject:
        lines.append(f"subject:  {message.subject}")
    if message.runs:
        lines.append(f"runs:     {', '.join(message.runs)}")
    if message.experiment:
        lines.append(f"experiment: {message.experiment}")
    if message.reply_to:
        lines.append(f"reply-to: {message.reply_to}")
    text = "\n".join(lines) + "\n\n" + message.body.rstrip("\n")
    return text if raw else _visible(text)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_JSON_UNESCAPED = re.compile(r"[\x7f-\x9f]")


def _visible(text: str) -> str:
    """Mail is other agents' words: escape sequences in it are shown, not obeyed (no
    retitling, clipboard writes, or screen clears by mail). Piped output too: it is
    often printed on a terminal in the end (`| less -R`, an agent's tool output)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _json_text(data: object, indent: int | None = None) -> str:
    """JSON of `data`, non-ASCII kept readable; DEL and C1 escaped as well, which
    `json.dumps` leaves raw (it escapes only the C0 controls)."""
    text = json.dumps(data, indent=indent, ensure_ascii=False)
    return _JSON_UNESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
