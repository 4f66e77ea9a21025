"""Mailbox benchmark: send throughput, watcher latency, and `missionctl mail send` wall time.

    python bench/mailbox.py [--messages 2000] [--rate 1000] [--seconds 3] [--runs 20]

Each figure is printed next to a baseline measured in the same run:
- send throughput: `Mailbox.send` (fsync of the file and of new/) against the
  standard library's `mailbox.Maildir.add` (fsync of the file), one process each;
- watcher latency: writers in other processes send `--rate` messages/s in all;
  the time from the start of its `send()` (an upper bound on "renamed into new/")
  to the callback, for `MailWatcher` and for `mailbox.Maildir` polled every 10 ms
  (the standard library has no watcher); then again while an agent reads each
  message as it arrives, with watchdog's stock observer for contrast;
- `missionctl mail send` from process start to exit, against `python -c pass`.

Both processes read `time.monotonic()`, which on Linux is CLOCK_MONOTONIC, one
clock for the whole machine, so their times compare directly.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from missionctl import orgfile
from missionctl.mailbox import Mailbox, MailWatcher, Message

BODY = (
    "softcap 0 vs 15 at matched FLOPs, seeds 0-2: val_bpb 1.0123 -> 1.0119"
    " (paired diff -0.0004, 95% CI [-0.0011, 0.0003]); runs attached.\n"
) * 3
POLL_INTERVAL = 0.010
# Writer processes sharing the latency runs' load (a few agents, not one fast one).
WRITERS = 4


def stdlib_mailbox() -> ModuleType:
    """The standard library's `mailbox`: this file and the repository's mailbox/ shadow it."""
    path = Path(sysconfig.get_paths()["stdlib"]) / "mailbox.py"
    spec = importlib.util.spec_from_file_location("stdlib_mailbox", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- send throughput ---------------------------------------------------------


def send_throughput(work: Path, count: int) -> None:
    box = Mailbox(work / "ours", ["r1"])
    box.ensure()
    start = time.perf_counter()
    for i in range(count):
        box.send("human", "r1", BODY, subject=f"m{i}")
    ours = count / (time.perf_counter() - start)

    maildir = stdlib_mailbox().Maildir(str(work / "stdlib"), create=True)
    payload = Message(
        id="0" * 26, ts="2026-01-01T00:00:00Z", sender="human", to="r1",
        kind="note", subject="m", body=BODY,
    ).encode()  # fmt: skip
    start = time.perf_counter()
    for _ in range(count):
        maildir.add(payload)
    theirs = count / (time.perf_counter() - start)
    print(f"send throughput, one process, {count:,} messages of {len(payload):,} bytes:")
    print(f"  missionctl Mailbox.send (fsync file + new/)      {ours:8,.0f} msg/s")
    print(f"  stdlib mailbox.Maildir.add (fsync file)          {theirs:8,.0f} msg/s")
    print(f"  ratio missionctl / stdlib                        {ours / theirs:8.2f}x")


# -- watcher latency ---------------------------------------------------------


class Arrivals:
    """Callback times by message key, and an event when all expected keys are in."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.duplicates = 0
        self.expected: int | None = None
        self.complete = threading.Event()
        self._lock = threading.Lock()

    def seen(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            if key in self.times:
                self.duplicates += 1
            else:
                self.times[key] = now
            if self.expected is not None and len(self.times) >= self.expected:
                self.complete.set()

    def expect(self, count: int) -> None:
        with self._lock:
            self.expected = count
            if len(self.times) >= count:
                self.complete.set()


def _run_writers(kind: str, root: Path, count: int, rate: float, out: Path) -> dict[str, float]:
    """`WRITERS` processes share the load, as agents do; return {key: send start} of all."""
    procs = []
    for w in range(WRITERS):
        cmd = [sys.executable, __file__, "--writer", kind, str(root), str(count // WRITERS)]
        procs.append(subprocess.Popen([*cmd, str(rate / WRITERS), f"{out}.{w}"]))
    sent: dict[str, float] = {}
    for w, proc in enumerate(procs):
        if proc.wait(count / rate + 120) != 0:
            raise SystemExit(f"writer {w} failed")
        sent.update(json.loads(Path(f"{out}.{w}").read_text()))
    return sent


def _report(
    label: str, sent: dict[str, float], arrivals: Arrivals, cpu: float, wall: float
) -> float:
    latencies = [arrivals.times[k] - t for k, t in sent.items() if k in arrivals.times]
    span = max(sent.values()) - min(sent.values())
    rate = (len(sent) - 1) / span if span > 0 else float("nan")
    lost = len(sent) - len(latencies)
    p50, p99 = _pct(latencies, 0.50), _pct(latencies, 0.99)
    print(
        f"  {label:<40} p50 {_ms(p50):>8}  p99 {_ms(p99):>8}  max {_ms(max(latencies)):>8}"
        f"  lost {lost}  dup {arrivals.duplicates}  sent at {rate:,.0f}/s"
        f"  watcher CPU {cpu / wall:4.0%}"
    )
    return p99


def _watch_ours(
    work: Path,
    name: str,
    count: int,
    rate: float,
    *,
    reader: bool = False,
    observer_factory: Callable[[], Any] | None = None,
) -> tuple[dict[str, float], Arrivals, float, float]:
    root = work / name
    Mailbox(root, ["r1"]).ensure()
    arrivals = Arrivals()
    extra: dict[str, Any] = {}
    if observer_factory is not None:
        extra["observer_factory"] = observer_factory
    watcher = MailWatcher(root, lambda r, m: arrivals.seen(m.id), **extra)
    stop = work / f"{name}.stop"
    drain = None
    if reader:
        drain = subprocess.Popen([sys.executable, __file__, "--reader", str(root), "r1", str(stop)])
    with watcher:
        cpu0, wall0 = time.process_time(), time.monotonic()
        sent = _run_writers("ours", root, count, rate, work / f"{name}.json")
        arrivals.expect(len(sent))
        arrivals.complete.wait(30)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    if drain is not None:
        stop.touch()
        drain.wait(60)
    return sent, arrivals, cpu, wall


def _watch_stdlib(
    work: Path, count: int, rate: float
) -> tuple[dict[str, float], Arrivals, float, float]:
    path = work / "stdlib-watch"
    maildir = stdlib_mailbox().Maildir(str(path), create=True)
    arrivals = Arrivals()
    done = threading.Event()

    def poll() -> None:
        known: set[str] = set()
        while not done.is_set():
            for key in list(maildir.iterkeys()):
                if key not in known:
                    known.add(key)
                    json.loads(maildir.get_bytes(key))  # the same work as ours: read and parse
                    arrivals.seen(key)
            done.wait(POLL_INTERVAL)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    cpu0, wall0 = time.process_time(), time.monotonic()
    sent = _run_writers("stdlib", path, count, rate, work / "stdlib-watch.json")
    arrivals.expect(len(sent))
    arrivals.complete.wait(30)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    done.set()
    poller.join()
    return sent, arrivals, cpu, wall


def watcher_latency(work: Path, rate: float, seconds: float) -> None:
    from watchdog.observers import Observer

    # The stock observer logs a harmless error when stopped; keep the table readable.
    logging.getLogger("watchdog").setLevel(logging.CRITICAL)

    count = int(rate * seconds)
    print(
        f"\nwatcher latency at {rate:,.0f} msg/s for {seconds:g} s ({count:,} messages from"
        f" {WRITERS} writer processes; from the start of send() to the callback):"
    )
    ours = _report("missionctl MailWatcher", *_watch_ours(work, "ours-watch", count, rate))
    theirs = _report(
        f"stdlib Maildir polled every {POLL_INTERVAL * 1000:g} ms",
        *_watch_stdlib(work, count, rate),
    )
    print(f"  {'ratio p99 missionctl / stdlib':<40} {ours / theirs:.2f}x   (target p99 <= 50 ms)")
    print("  ... while an agent reads each message as it arrives (moves it new/ -> cur/):")
    _report(
        "missionctl MailWatcher",
        *_watch_ours(work, "ours-read", count, rate, reader=True),
    )
    _report(
        "same, with watchdog's stock Observer",
        *_watch_ours(work, "stock-read", count, rate, reader=True, observer_factory=Observer),
    )


# -- `missionctl mail send` wall time ----------------------------------------


def send_wall_time(work: Path, runs: int) -> None:
    ws = work / "workspace"
    (ws / "org").mkdir(parents=True)
    (ws / "org" / "org.toml").write_text(orgfile.default_org_toml("bench", "main", 0))
    script = Path(sys.executable).with_name("missionctl")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "missionctl"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISSIONCTL_")}

    def timed(cmd: list[str]) -> list[float]:
        walls = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(cmd, cwd=ws, env=env, check=True, capture_output=True, timeout=60)
            walls.append(time.perf_counter() - start)
        return walls

    bare = timed([sys.executable, "-c", "pass"])
    send = timed([*command, "mail", "send", "--to", "r1", "--subject", "bench", BODY])
    print(f"\n`missionctl mail send` wall time, process start to exit, {runs} runs each:")
    print(f"  python -c pass                 median {_ms(statistics.median(bare)):>8}")
    median = statistics.median(send)
    verdict = "meets" if median <= 0.150 else "MISSES"
    print(
        f"  missionctl mail send           median {_ms(median):>8}"
        f"  p90 {_ms(_pct(send, 0.9))}  ({verdict} the 150 ms target)"
    )
    print(f"  ratio mail send / bare python  {median / statistics.median(bare):8.2f}x")


# -- the helper processes -----------------------------------------------------


def writer(kind: str, root: Path, count: int, rate: float, out: Path) -> None:
    """Send `count` messages at `rate`/s; write {key: monotonic time send started}."""
    sent: dict[str, float] = {}
    if kind == "ours":
        box = Mailbox(root, ["r1"])

        def send(i: int) -> str:
            return box.send("human", "r1", BODY, subject=f"m{i}")[0].id

    else:
        maildir = stdlib_mailbox().Maildir(str(root), create=False)
        payload = json.dumps({"body": BODY}).encode()

        def send(i: int) -> str:
            key: str = maildir.add(payload)
            return key

    start = time.monotonic()
    for i in range(count):
        due = start + i / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)  # pacing the load, not waiting for a result
        began = time.monotonic()
        sent[send(i)] = began
    out.write_text(json.dumps(sent))


def reader(root: Path, name: str, stop: Path) -> None:
    """An agent that reads its mail as soon as it can, until `stop` exists."""
    box = Mailbox(root, [name])
    while not stop.exists():
        if box.read_next(name) is None:
            time.sleep(0.001)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=2000, help="messages for send throughput")
    ap.add_argument("--rate", type=float, default=1000.0, help="messages/s for watcher latency")
    ap.add_argument("--seconds", type=float, default=3.0, help="seconds of load per latency run")
    ap.add_argument("--runs", type=int, default=20, help="`mail send` processes to time")
    ap.add_argument("--writer", nargs=5, help=argparse.SUPPRESS)
    ap.add_argument("--reader", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.writer:
        kind, root, count, rate, out = args.writer
        writer(kind, Path(root), int(count), float(rate), Path(out))
        return
    if args.reader:
        root, name, stop = args.reader
        reader(Path(root), name, Path(stop))
        return
    work = Path(tempfile.mkdtemp(prefix="mc-mailbench-"))
    try:
        print(f"mailbox bench: {os.cpu_count()} CPUs, files under {work}\n")
        send_throughput(work, args.messages)
        watcher_latency(work, args.rate, args.seconds)
        send_wall_time(work, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
