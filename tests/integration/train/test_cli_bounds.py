"""Trainer inputs with no upper bound (issue 12, bug 14): each is refused before torch
loads, in one line that gives the valid range; data that is not a file says what it is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from missionctl.train.sources import MAX_CORPUS_BYTES

TRAIN = [sys.executable, "-m", "missionctl.train", "--preset", "cpu-tiny"]


def _train(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TRAIN, *args, "--show-config"], cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--set", "depth=1e6"], "depth=1e6 is out of range; it must be from 1 to 256"),
        (["--set", "batch_size=1e9"], "batch_size=1e9 is out of range; it must be from 1 to"),
        (["--set", "mlp_ratio=1e308"], "mlp_ratio=1e308 is out of range; it must be from 1 to 64"),
        (["--set", "seq_len=1e7"], "seq_len=1e7 is out of range"),
        (["--set", "width=1e12"], "width=1e12 is out of range"),
        (["--set", "eval_tokens=1e15"], "eval_tokens=1e15 is out of range"),
        (["--set", "depth=" + "9" * 5000], "is out of range"),
        (["--set", "depth=256", "width=16384"], "parameters"),
        (["--set", "batch_size=65536", "seq_len=65536"], "tokens in one micro-batch"),
        (["--threads", "100000"], "--threads 100000 is out of range; use 1 to"),
        (["--threads", "0"], "--threads 0 is out of range"),
        (["--time-limit", "nan"], "--time-limit"),
        (["--budget", "steps=1e300"], "out of range"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_unbounded_inputs_exit_2_with_the_valid_range(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    proc = _train(tmp_path, *args)
    assert proc.returncode == 2, proc.stdout[-500:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert needle in proc.stderr, proc.stderr


def test_the_largest_preset_and_the_bounds_themselves_still_pass(tmp_path: Path) -> None:
    assert _train(tmp_path, "--preset", "gpu-d8").returncode == 0
    assert _train(tmp_path, "--set", "depth=256", "width=256", "mlp_ratio=64").returncode == 0
    assert _train(tmp_path, "--threads", "1").returncode == 0


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: p.symlink_to("/dev/zero"), "a character device"),
        (lambda p: os.mkfifo(p), "a FIFO"),
    ],
    ids=["dev-zero", "fifo"],
)
def test_data_that_is_not_a_file_says_what_it_is(tmp_path: Path, make: object, kind: str) -> None:
    data = tmp_path / "corpus"
    make(data)  # type: ignore[operator]
    proc = _train(tmp_path, "--data", str(data))
    assert proc.returncode == 2
    assert "no such file" not in proc.stderr
    assert kind in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_data_over_the_documented_size_is_refused_before_reading(tmp_path: Path) -> None:
    data = tmp_path / "big"
    data.mkdir()
    with (data / "huge.txt").open("wb") as fh:
        fh.truncate(6 << 30)  # sparse: 6 GB that take no disk
    (data / "small.txt").write_text("to be or not to be\n")
    proc = _train(tmp_path, "--data", str(data))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"over the limit of {MAX_CORPUS_BYTES:,} bytes" in proc.stderr
    assert str(data / "huge.txt") in proc.stderr or str(data) in proc.stderr


@pytest.mark.parametrize("value", ["9" * 5000, "²", "100000"])
def test_a_bad_run_slot_count_in_the_environment_is_one_line(tmp_path: Path, value: str) -> None:
    proc = subprocess.run(
        [*TRAIN, "--budget", "steps=1", "--threads", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MISSIONCTL_MAX_RUNS": value},
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "from 1 to 1024" in proc.stderr
