"""Following new mail as it arrives, for the app, the supervisor and `mail watch`.

A watchdog observer reports files renamed into each mailbox's `new/`; because the
kernel drops inotify events silently when its queue overflows, every folder is
also rescanned every ~2 s, and file names already reported are remembered, so a
message is reported exactly once whichever path finds it first. The observer is
started before the first scan, so a message that lands while the watcher starts
is caught by one or the other.

All the work (reading files, quarantining bad ones, calling back) happens in one
thread of the watcher: callbacks are never called concurrently, and nothing a
callback or a bad file does stops the watcher.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Collection, Generator, Iterable
from pathlib import Path
from types import TracebackType

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from missionctl.files import PRIVATE_DIR_MODE, make_private_dir
from missionctl.mailbox.message import ID_RE, MalformedMessage, Message
from missionctl.mailbox.store import (
    CUR,
    NEW,
    SEEN_SUFFIX,
    STALE_TMP_AGE,
    Mailbox,
    check_name,
    clean_stale_tmp,
    load_message,
    mailbox_names,
    quarantine,
)
from missionctl.workspace import Workspace

OnMessage = Callable[[str, Message], None]
OnBad = Callable[[str, Path, str], None]

RESCAN_INTERVAL = 2.0
# A reported file name is forgotten once it has left new/ and this much time has
# passed: far longer than an event can wait in a queue, so a late event for a
# message that was already reported (and since read) is not taken for a new one.
FORGET_AFTER = 60.0
CLEAN_TMP_EVERY = 600.0

log = logging.getLogger(__name__)

if sys.platform.startswith("linux"):
    from watchdog.observers.inotify import InotifyEmitter, InotifyObserver
    from watchdog.observers.inotify_c import InotifyConstants, Mask

    class _ArrivalEmitter(InotifyEmitter):
        """Asks inotify only for arrivals (IN_CREATE, IN_MOVED_TO) and the folder's removal.

        Watchdog holds each IN_MOVED_FROM for 0.5 s to pair it with its IN_MOVED_TO,
        and every event queued behind it waits as well. Reading mail moves a file
        out of new/, so with the default mask each read would delay the next
        arrival in that mailbox by up to half a second.
        """

        def get_event_mask_from_filter(self) -> Mask:
            return Mask(
                InotifyConstants.IN_CREATE
                | InotifyConstants.IN_MOVED_TO
                | InotifyConstants.IN_DELETE_SELF
            )

    class _ArrivalObserver(InotifyObserver):
        def __init__(self) -> None:
            super().__init__()
            self._emitter_class = _ArrivalEmitter

    def arrival_observer() -> BaseObserver:
        """An observer that reports files arriving in a folder, without move-pairing delays."""
        return _ArrivalObserver()

else:

    def arrival_observer() -> BaseObserver:
        """The platform's observer (the inotify delay this avoids is Linux-only)."""
        return Observer()


_Item = tuple[str, str]
_STOP: _Item = ("", "stop")
_DISCOVER: _Item = ("", "discover")


def _log_bad(recipient: str, path: Path, reason: str) -> None:
    log.warning("malformed mail for %s moved to %s: %s", recipient, path, reason)


class _Events(FileSystemEventHandler):
    """Runs in watchdog's thread: turns events into (recipient, file name) work items."""

    def __init__(self, root: Path, work: queue.SimpleQueue[_Item]) -> None:
        self.root = root
        self.work = work

    def on_created(self, event: FileSystemEvent) -> None:
        self._put(os.fsdecode(event.src_path), event.is_directory)

    def on_moved(self, event: FileSystemEvent) -> None:
        self._put(os.fsdecode(event.dest_path), event.is_directory)

    def _put(self, path: str, is_directory: bool) -> None:
        where = Path(path)
        if where.parent == self.root:
            if is_directory:
                self.work.put(_DISCOVER)  # a new mailbox folder
        elif where.parent.name == NEW and where.parent.parent.parent == self.root:
            self.work.put((where.parent.parent.name, where.name))


class MailWatcher:
    """Calls `on_message(recipient, message)` once for every message that lands in a `new/`.

    `source` is a `Mailbox` (its recipients' folders are created and watched from
    the start), a `Workspace` or a mailbox root folder; mailbox folders created
    later are found too. `recipients` limits the watch to those mailboxes.
    With `include_existing`, messages already waiting at `start()` are reported
    as well. A malformed file in `new/` is moved to `bad/` with the reason beside
    it and reported to `on_bad(recipient, path, reason)`.

    Use `start()`/`stop()` or `with MailWatcher(...) as watcher:`.
    """

    def __init__(
        self,
        source: Mailbox | Workspace | Path,
        on_message: OnMessage,
        on_bad: OnBad = _log_bad,
        *,
        recipients: Iterable[str] | None = None,
        include_existing: bool = False,
        rescan_interval: float = RESCAN_INTERVAL,
        stale_tmp_age: float = STALE_TMP_AGE,
        clean_tmp_every: float | None = CLEAN_TMP_EVERY,
        observer_factory: Callable[[], BaseObserver] = arrival_observer,
    ) -> None:
        known: tuple[str, ...] = ()
        if isinstance(source, Mailbox):
            self.root, known = source.root, source.recipients
        elif isinstance(source, Workspace):
            self.root = source.private_dir("mailbox")
        else:
            self.root = Path(source)
        self.root = self.root.absolute()
        self.only: frozenset[str] | None = None
        if recipients is not None:
            self.only = frozenset(check_name(n, "recipient") for n in recipients)
        self._create = sorted(self.only if self.only is not None else known)
        self.on_message = on_message
        self.on_bad = on_bad
        self.include_existing = include_existing
        self.rescan_interval = rescan_interval
        self.stale_tmp_age = stale_tmp_age
        self.clean_tmp_every = clean_tmp_every
        self._observer_factory = observer_factory
        self._observer: BaseObserver | None = None
        self._work: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._events = _Events(self.root, self._work)
        self._seen: dict[tuple[str, str], float] = {}
        self._watched: dict[str, ObservedWatch | None] = {}
        self._thread: threading.Thread | None = None
        self._live = threading.Event()
        self._failure: BaseException | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self, timeout: float = 30.0) -> None:
        """Start watching; return once every message already in `new/` has been handled."""
        if self._thread is not None:
            raise RuntimeError("this MailWatcher was already started")
        make_private_dir(self.root)
        for name in self._create:
            for sub in ("tmp", NEW, CUR):
                make_private_dir(self.root / name / sub)
        names = self._folder_names()
        if not self.include_existing:
            # What is there before the observer starts is "existing"; anything
            # later is new, whether the events or the first scan find it.
            now = time.monotonic()
            for name in names:
                for filename in _listing(self.root / name / NEW):
                    self._seen[(name, filename)] = now
        self._observer = self._observer_factory()
        if self.only is None:
            self._observer.schedule(
                self._events,
                str(self.root),
                recursive=False,
                event_filter=[DirCreatedEvent, DirMovedEvent],
            )
        for name in names:
            self._watch(name)
        self._observer.start()
        self._thread = threading.Thread(target=self._run, name="mail-watcher", daemon=True)
        self._thread.start()
        if not self._live.wait(timeout):
            self.stop()
            raise RuntimeError(f"the mail watcher did not finish its first scan in {timeout:g} s")
        if self._failure is not None:
            self.stop()
            raise RuntimeError("the mail watcher failed to start") from self._failure

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching and wait for the thread; safe to call twice or from a callback."""
        observer, thread = self._observer, self._thread
        if observer is not None:
            observer.stop()
        self._work.put(_STOP)
        if observer is not None and observer.is_alive():
            observer.join(timeout)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def __enter__(self) -> MailWatcher:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the watcher thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    # -- the watcher thread --------------------------------------------------

    def _run(self) -> None:
        try:
            self._rescan()
        except BaseException as exc:
            self._failure = exc
            self._live.set()
            return
        self._live.set()
        next_rescan = time.monotonic() + self.rescan_interval
        next_clean = time.monotonic()
        while True:
            try:
                item = self._work.get(timeout=max(0.0, next_rescan - time.monotonic()))
            except queue.Empty:
                item = None
            if item == _STOP:
                return
            try:
                if item == _DISCOVER:
                    self._add_new_folders()
                elif item is not None:
                    self._handle(*item)
                now = time.monotonic()
                if now >= next_rescan:
                    self._rescan()
                    next_rescan = time.monotonic() + self.rescan_interval
                if self.clean_tmp_every is not None and now >= next_clean:
                    next_clean = now + self.clean_tmp_every
                    for path in clean_stale_tmp(self.root, self.stale_tmp_age):
                        log.info("removed stale %s left by a crashed writer", path)
            except Exception:
                # An unexpected error (a full disk, a vanished root) must not end
                # the watcher: the next event or rescan tries again.
                log.exception("mail watcher: error while handling %r", item)

    def _folder_names(self) -> list[str]:
        names = set(mailbox_names(self.root)) | set(self._create)
        if self.only is not None:
            names &= self.only
        return sorted(names)

    def _watch(self, name: str) -> None:
        new_dir = self.root / name / NEW
        try:
            # A folder being created by a sender may not have new/ yet; the sender
            # tolerates it existing, so make it now and watch it at once.
            new_dir.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        except OSError:
            return  # not ready (or not ours); the next rescan tries again
        assert self._observer is not None
        try:
            watch = self._observer.schedule(
                self._events,
                str(new_dir),
                recursive=False,
                # Directories too: one dropped into new/ is reported as bad mail.
                event_filter=[FileCreatedEvent, FileMovedEvent, DirCreatedEvent, DirMovedEvent],
            )
        except OSError as exc:
            # E.g. the inotify watch limit: the rescan still finds its mail.
            log.warning("cannot watch %s (%s); falling back to rescanning it", new_dir, exc)
            watch = None
        self._watched[name] = watch

    def _unwatch(self, name: str) -> None:
        watch = self._watched.pop(name, None)
        if watch is not None and self._observer is not None:
            try:
                self._observer.unschedule(watch)
            except (KeyError, OSError):
                pass  # the emitter already stopped when its folder was deleted

    def _add_new_folders(self) -> None:
        for name in self._folder_names():
            if name not in self._watched:
                self._watch(name)
                for filename in sorted(_listing(self.root / name / NEW)):
                    self._handle(name, filename)

    def _rescan(self) -> None:
        self._add_new_folders()
        present: dict[str, set[str]] = {}
        for name in list(self._watched):
            new_dir = self.root / name / NEW
            if not new_dir.is_dir():
                self._unwatch(name)  # deleted: watch it again when it comes back
                continue
            listing = sorted(_listing(new_dir))
            present[name] = set(listing)
            for filename in listing:
                self._handle(name, filename)
        cutoff = time.monotonic() - FORGET_AFTER
        for key, when in list(self._seen.items()):
            if when < cutoff and key[1] not in present.get(key[0], ()):
                del self._seen[key]

    def _handle(self, recipient: str, filename: str) -> None:
        if filename.startswith("."):
            return
        if self.only is not None and recipient not in self.only:
            return
        key = (recipient, filename)
        if key in self._seen:
            return
        self._seen[key] = time.monotonic()
        try:
            message = load_message(self.root / recipient / NEW / filename, recipient)
        except FileNotFoundError:
            # Read (moved to cur/) before we got to it: still news to whoever follows the mail.
            found = self._from_cur(recipient, filename)
            if found is None:
                return
            message = found
        except (MalformedMessage, OSError) as exc:
            reason = exc.reason if isinstance(exc, MalformedMessage) else f"unreadable: {exc}"
            self._reject(recipient, filename, reason)
            return
        try:
            self.on_message(recipient, message)
        except Exception:
            log.exception("mail watcher: on_message failed for %s/%s", recipient, filename)

    def _from_cur(self, recipient: str, filename: str) -> Message | None:
        if not ID_RE.match(filename):
            return None
        cur = self.root / recipient / CUR
        candidates = [cur / (filename + SEEN_SUFFIX)]
        if not candidates[0].exists():
            candidates = [cur / n for n in _listing(cur) if n.startswith(filename + ":")]
        for path in candidates:
            try:
                return load_message(path, recipient)
            except (MalformedMessage, OSError):
                continue
        return None

    def _reject(self, recipient: str, filename: str, reason: str) -> None:
        try:
            target = quarantine(self.root, recipient, filename, reason)
        except FileNotFoundError:
            return  # someone else moved it first
        try:
            self.on_bad(recipient, target, reason)
        except Exception:
            log.exception("mail watcher: on_bad failed for %s", target)


def _listing(directory: Path) -> list[str]:
    try:
        return [n for n in os.listdir(directory) if not n.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return []


def follow(
    source: Mailbox | Workspace | Path,
    *,
    recipients: Collection[str] | None = None,
    include_existing: bool = False,
    timeout: float | None = None,
    rescan_interval: float = RESCAN_INTERVAL,
) -> Generator[tuple[str, Message], None, None]:
    """Yield `(recipient, message)` as mail arrives; stop after `timeout` s of waiting in all.

    The watcher runs while the iterator is open; closing it (or leaving a `for`
    loop) stops the watcher.
    """
    arrived: queue.SimpleQueue[tuple[str, Message]] = queue.SimpleQueue()
    deadline = None if timeout is None else time.monotonic() + timeout
    watcher = MailWatcher(
        source,
        lambda recipient, message: arrived.put((recipient, message)),
        recipients=recipients,
        include_existing=include_existing,
        rescan_interval=rescan_interval,
    )
    with watcher:
        while True:
            # Short waits keep Ctrl-C responsive in the main thread.
            wait = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if wait <= 0:
                return
            try:
                item = arrived.get(timeout=wait)
            except queue.Empty:
                continue
            yield item
