"""Fixtures for the mailbox tests: a mailbox on real files, and a callback recorder."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from missionctl.mailbox import Mailbox, Message

AGENTS = ["chief", "r1", "r2", "r3"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "mailbox"


@pytest.fixture
def box(root: Path) -> Mailbox:
    return Mailbox(root, AGENTS, roles={"chief": ["chief"], "researcher": ["r1", "r2", "r3"]})


class Recorder:
    """Collects watcher callbacks; tests wait on it with a deadline, never a sleep."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, Message]] = []
        self.bad: list[tuple[str, Path, str]] = []
        self.threads: set[str] = set()
        self._changed = threading.Condition()

    def on_message(self, recipient: str, message: Message) -> None:
        with self._changed:
            self.messages.append((recipient, message))
            self.threads.add(threading.current_thread().name)
            self._changed.notify_all()

    def on_bad(self, recipient: str, path: Path, reason: str) -> None:
        with self._changed:
            self.bad.append((recipient, path, reason))
            self._changed.notify_all()

    def keys(self) -> list[tuple[str, str]]:
        with self._changed:
            return [(r, m.id) for r, m in self.messages]

    def wait(self, done: Callable[[Recorder], bool], timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def wait_count(self, count: int, timeout: float = 20.0) -> bool:
        return self.wait(lambda r: len(r.messages) >= count, timeout)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
