"""A mail writer (or reader) in its own process, for the concurrency tests.

writer.py burst ROOT SENDER COUNT OUT RECIPIENT...  send COUNT messages; write "recipient id" lines to OUT
writer.py forever ROOT SENDER RECIPIENT BODY_BYTES   send big messages until killed; print each id
writer.py reader ROOT NAME OUT STOPFILE              read_next until STOPFILE exists and new/ is empty
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from missionctl.mailbox import Mailbox


def burst(root: Path, sender: str, count: int, out: Path, recipients: list[str]) -> None:
    box = Mailbox(root, recipients)
    lines = []
    for k in range(count):
        # Writers overlap on every recipient; every 10th message is a broadcast.
        to = "all" if k % 10 == 9 else recipients[(k + len(sender)) % len(recipients)]
        for message in box.send(sender, to, f"{sender} #{k}", subject=f"m{k}"):
            lines.append(f"{message.to} {message.id}\n")
    out.write_text("".join(lines))


def forever(root: Path, sender: str, recipient: str, size: int) -> None:
    box = Mailbox(root, [recipient])
    body = "x" * size
    while True:
        message = box.send(sender, recipient, body)[0]
        print(message.id, flush=True)


def reader(root: Path, name: str, out: Path, stopfile: Path) -> None:
    box = Mailbox(root, [name])
    got = []
    while True:
        message = box.read_next(name)
        if message is not None:
            got.append(message.id)
        elif stopfile.exists() and box.unread_count(name) == 0:
            break
        else:
            time.sleep(0.002)  # an idle agent polls its mailbox now and then
    out.write_text("".join(f"{i}\n" for i in got))


if __name__ == "__main__":
    mode, root, *rest = sys.argv[1:]
    if mode == "burst":
        burst(Path(root), rest[0], int(rest[1]), Path(rest[2]), rest[3:])
    elif mode == "forever":
        forever(Path(root), rest[0], rest[1], int(rest[2]))
    elif mode == "reader":
        reader(Path(root), rest[0], Path(rest[1]), Path(rest[2]))
    else:
        raise SystemExit(f"unknown mode {mode}")
