"""Files in the runtime folder, which every agent can write: read them without
trusting what they are, and create them private to the user whatever the umask.

An agent can leave a FIFO, a device, a link to `/dev/zero` or a huge file where
missionctl expects a message or a metrics file; a plain `open()` then blocks
forever or reads until memory runs out. Everything here opens without following
links and without blocking, and reads regular files only, up to a cap.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "NotAPlainFile",
    "make_private_dir",
    "open_private",
    "open_regular",
    "read_regular",
    "write_atomic",
    "write_private",
]

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


class NotAPlainFile(ValueError):
    """A path that is something other than a regular file, or larger than allowed.

    `reason` says what it is, as a phrase ("a FIFO", "9,000,000 bytes, over the
    limit of 8,388,608"); the caller decides whether that is an error or a skip.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path} is {reason}")
        self.path = path
        self.reason = reason


def _kind(mode: int) -> str:
    return next((text for test, text in _KINDS if test(mode)), "not a regular file")


def open_regular(
    path: Path, max_bytes: int | None = None, *, follow_links: bool = False
) -> BinaryIO:
    """`path` opened for reading in binary, if it is a regular file of at most `max_bytes`.

    Never blocks (a FIFO is refused, not waited on) and, unless `follow_links`, never
    goes through a symbolic link. Raises `NotAPlainFile`, or `OSError` (e.g.
    `FileNotFoundError`) when the path cannot be opened at all.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
    if not follow_links:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_links:
            raise NotAPlainFile(path, "a symbolic link") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotAPlainFile(path, _kind(info.st_mode))
        if max_bytes is not None and info.st_size > max_bytes:
            raise NotAPlainFile(path, f"{info.st_size:,} bytes, over the limit of {max_bytes:,}")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path, max_bytes: int, *, follow_links: bool = False) -> bytes:
    """The bytes of the regular file `path`, at most `max_bytes` of them (see `open_regular`).

    A file that grows past the cap while it is read is refused too.
    """
    with open_regular(path, max_bytes, follow_links=follow_links) as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise NotAPlainFile(path, f"over the limit of {max_bytes:,} bytes")
    return data


def make_private_dir(path: Path) -> Path:
    """Create `path` and any missing parents with mode 0700 whatever the umask; return it.

    Folders that already exist are left as they are.
    """
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # made by a concurrent caller: fine, as long as it is a folder
        # mkdir's mode passes through the umask, which could take the owner's bits away.
        os.chmod(folder, PRIVATE_DIR_MODE)
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
    return path


def open_private(path: Path, flags: int) -> int:
    """`os.open(path, flags)` creating the file 0600 whatever the umask, never through a
    link; returns the descriptor."""
    fd = os.open(path, flags | os.O_CLOEXEC | os.O_NOFOLLOW, PRIVATE_FILE_MODE)
    try:
        if flags & os.O_CREAT and stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, PRIVATE_FILE_MODE)  # it existed before, made looser
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_atomic(path: Path, data: bytes | str, *, private: bool = True) -> None:
    """Write `data` to `path` whole and atomically (a temporary file renamed over it).

    `private`: 0600 whatever the umask (the runtime folder); otherwise the umask
    decides, as for any file the user makes (the org's versioned files).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    # Unique per writer: two threads of one process may write the same file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    if private:
        fd = open_private(tmp, flags)
    else:
        fd = os.open(tmp, flags | os.O_CLOEXEC | os.O_NOFOLLOW, 0o666)
    try:
        view = memoryview(raw)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)


def write_private(path: Path, data: bytes | str) -> None:
    """Write `data` to `path` whole and atomically, readable by the user only (0600)."""
    write_atomic(path, data, private=True)
