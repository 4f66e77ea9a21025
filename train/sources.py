"""Which files a corpus is read from, and whether they may be: checked from their
metadata alone, without reading them and without torch (the CLI runs this first).

`--data PATH` is a regular file, or a folder whose non-hidden regular files are
read in path order; links are followed (datasets are often linked in). The
corpus is held in memory whole, so all of it together may be at most
`MAX_CORPUS_BYTES` (1 GiB).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from missionctl.errors import UserError

MAX_CORPUS_BYTES = 1 << 30

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def corpus_files(data: Path) -> list[Path]:
    """The files `--data` stands for, in path order; a `UserError` says why it cannot be.

    Refused: a path that does not exist, one that is neither a file nor a folder
    (a FIFO or /dev/zero would never end), and more than `MAX_CORPUS_BYTES` in all.
    """
    try:
        info = os.stat(data)
    except FileNotFoundError:
        raise UserError(
            f"--data {data}: no such file or folder; pass a text file or a folder"
        ) from None
    except OSError as exc:
        raise UserError(f"--data {data}: {exc.strerror}; pass a readable file or folder") from None
    if stat.S_ISREG(info.st_mode):
        files = [(data, info.st_size)]
    elif stat.S_ISDIR(info.st_mode):
        files = _regular_files_under(data)
    else:
        kind = next((text for test, text in _KINDS if test(info.st_mode)), "not a regular file")
        raise UserError(
            f"--data {data} is {kind}, not a file or folder; pass a text file or a folder"
        )
    total = sum(size for _, size in files)
    if total > MAX_CORPUS_BYTES:
        largest = max(files, key=lambda f: f[1])[0]
        raise UserError(
            f"--data {data} holds {total:,} bytes (the largest file is {largest}), over the"
            f" limit of {MAX_CORPUS_BYTES:,} bytes, since a run keeps its corpus in memory;"
            " pass a smaller file or folder"
        )
    return [path for path, _ in files]


def _regular_files_under(folder: Path) -> list[tuple[Path, int]]:
    found = []
    for path in folder.rglob("*"):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        try:
            info = os.stat(path)
        except OSError:
            continue  # a dangling link, or gone meanwhile
        if stat.S_ISREG(info.st_mode):  # FIFOs and devices in a folder are passed over
            found.append((path, info.st_size))
    return sorted(found, key=lambda f: f[0].relative_to(folder).as_posix())
