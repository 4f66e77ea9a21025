"""Sending notices where `[notify]` in org.toml says: a command and/or a webhook.

The supervisor sends them, so they fire with no app open. Sending happens on a
thread of its own (a slow webhook must not hold up mail delivery), each command
and request with a timeout; failures are logged once each, never retried.
"""

from __future__ import annotations

import json
import os
import queue
import string
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping

from missionctl.agents.notify.notices import Notice, RateLimit
from missionctl.orgfile import NotifySpec

COMMAND_TIMEOUT_S = 10.0
WEBHOOK_TIMEOUT_S = 5.0


def fill(template: str, fields: Mapping[str, str]) -> str:
    """`template` with its {name} fields filled in (validated by orgfile: names only)."""
    out = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(fields.get(name, ""))
    return "".join(out)


def _where(url: str) -> str:
    """A webhook URL as a log may show it: scheme and host, never its path or query
    (where services put their secret)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}"


class Notifier:
    """Sends each allowed notice to the command and the webhook of `spec`."""

    def __init__(
        self,
        spec: NotifySpec,
        log: Callable[[str], None],
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.spec = spec
        self.log = log
        self.env = os.environ if env is None else env
        self.clock = clock
        self.limit = RateLimit(spec.repeat_after)
        self._queue: queue.Queue[Notice | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._said: set[str] = set()
        self._lock = threading.Lock()  # the mail watcher's thread sends too

    def send(self, notice: Notice) -> bool:
        """Queue `notice` if it is wanted and within the rate; True if queued."""
        if not self.spec.enabled or notice.event not in self.spec.events:
            return False
        with self._lock:
            if not self.limit.allow(notice, self.clock()):
                return False
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="notify", daemon=True)
                self._thread.start()
        self._queue.put(notice)
        return True

    def close(self, timeout: float = 15.0) -> None:
        """Send what is queued (waiting up to `timeout`), then stop."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while (notice := self._queue.get()) is not None:
            self.deliver(notice)

    def deliver(self, notice: Notice) -> None:
        """Run the command and post the webhook for `notice`, now, on this thread."""
        fields = notice.fields()
        if self.spec.command:
            argv = [fill(arg, fields) for arg in self.spec.command]
            try:
                done = subprocess.run(
                    argv,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=COMMAND_TIMEOUT_S,
                    check=False,
                )
                if done.returncode != 0:
                    self._once(f"notify command {argv[0]} exited with code {done.returncode}")
            except (OSError, subprocess.TimeoutExpired) as exc:
                self._once(f"notify command {argv[0]} failed: {type(exc).__name__}: {exc}")
        url = self.spec.webhook or (
            self.env.get(self.spec.webhook_env) if self.spec.webhook_env else None
        )
        if url:
            payload = {**fields, "ts": self.clock()}
            request = urllib.request.Request(
                url,
                data=json.dumps(payload).encode(),
                headers={"Content-Type": "application/json", "User-Agent": "missionctl"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
                    response.read(1024)
            except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
                reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
                self._once(f"notify webhook {_where(url)} failed: {reason}")
        elif self.spec.webhook_env:
            self._once(f"notify: ${self.spec.webhook_env} is not set; no webhook sent")

    def _once(self, line: str) -> None:
        if line not in self._said:
            self._said.add(line)
            self.log(line)
