"""What the app's once-a-second spend poll costs on a long Claude Code session.

Builds a transcript shaped like Claude Code 2.1's (most of its bytes are tool
outputs and file contents; one assistant line per content block carries usage),
then times, in the same run:
- the baseline: reading and decoding the whole file on every poll (what a reader
  without offsets would do);
- `SpendReader`, as the monitor uses it: one full read, then polls that read only
  what was appended since (here: one new assistant message per poll).
Target: a poll of an 8-agent org stays under 10 ms of CPU.

    python bench/spend.py [--mb 20] [--polls 20]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from missionctl.ledger.spend import PriceTable, SpendReader
from missionctl.ledger.spend.logs import claude_record


def _assistant(n: int) -> str:
    usage = {"input_tokens": 12, "output_tokens": 300, "cache_read_input_tokens": 40_000,
             "cache_creation_input_tokens": 800}  # fmt: skip
    text = [{"type": "text", "text": "Working on it. " * 20}]
    message = {"id": f"msg_{n:06d}", "model": "claude-opus-4-8", "role": "assistant",
               "content": text, "usage": usage}  # fmt: skip
    return json.dumps({"type": "assistant", "timestamp": "2026-12-05T10:00:00.000Z",
                       "uuid": f"u{n}", "message": message})  # fmt: skip


def _tool_result(n: int) -> str:
    content = [{"type": "tool_result", "tool_use_id": f"t{n}", "content": "x = 1\n" * 1500}]
    return json.dumps({"type": "user", "timestamp": "2026-12-05T10:00:00.000Z",
                       "message": {"role": "user", "content": content}})  # fmt: skip


def _full_read(path: Path) -> int:
    found = {}
    for raw in path.read_bytes().splitlines():
        line = json.loads(raw)
        record = claude_record(line)
        if record:
            found[record[0]] = record[1]
    return len(found)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=float, default=20.0)
    ap.add_argument("--polls", type=int, default=20)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mc-bench-spend-"))
    runtime = root / ".missionctl"
    project = runtime / "agent-config" / "r1" / "claude" / "projects" / "-lab-r1"
    project.mkdir(parents=True)
    path = project / "session.jsonl"
    n = 0
    with open(path, "w") as fh:
        while fh.tell() < args.mb * 1e6:
            fh.write(_assistant(n) + "\n" + _tool_result(n) + "\n")
            n += 1
    size = path.stat().st_size / 1e6
    prices = PriceTable()

    reader = SpendReader(runtime, "r1", "claude")
    start = time.process_time()
    first = reader.spend(prices)
    first_ms = (time.process_time() - start) * 1000
    full: list[float] = []
    tail: list[float] = []
    for _ in range(args.polls):
        with open(path, "a") as fh:  # the agent answers once between polls
            fh.write(_assistant(n) + "\n" + _tool_result(n) + "\n")
            n += 1
        start = time.process_time()
        _full_read(path)
        full.append((time.process_time() - start) * 1000)
        start = time.process_time()
        spend = reader.spend(prices)
        tail.append((time.process_time() - start) * 1000)
    shutil.rmtree(root)
    assert spend.answers == n and spend.answers == first.answers + args.polls
    f50, t50 = statistics.median(full), statistics.median(tail)
    print(f"transcript {size:.1f} MB, {n} assistant messages")
    print(f"first read (SpendReader)          {first_ms:8.1f} ms CPU")
    print(f"poll, whole file re-read          {f50:8.2f} ms CPU p50  (baseline)")
    print(f"poll, SpendReader (new lines)     {t50:8.2f} ms CPU p50")
    print(f"ratio baseline/SpendReader: {f50 / t50:.0f}x; 8 agents per poll: {8 * t50:.1f} ms")
    print(f"target 8 agents <= 10 ms: {'met' if 8 * t50 <= 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
