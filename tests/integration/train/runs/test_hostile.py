"""A run directory an agent tampered with (issue 12, bug 11): a FIFO, a link to /dev/zero,
a folder or a huge file where a metrics, config or lock file belongs never makes
`missionctl runs` hang or fill the memory, nor the app's metrics tail block."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from missionctl.train.runs.reader import MetricsTail

START = {
    "v": 1,
    "event": "start",
    "t": 1.0,
    "run_id": "r1-bad",
    "agent": "r1",
    "preset": "cpu-tiny",
}


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _folder(path: Path) -> None:
    path.mkdir()


def _huge(path: Path) -> None:
    # Sparse: 3 GiB of zeros without a line break, taking no disk.
    with path.open("wb") as fh:
        fh.truncate(3 << 30)


BAD_FILES: dict[str, Callable[[Path], None]] = {
    "fifo": _fifo,
    "dev-zero": _dev_zero,
    "folder": _folder,
    "huge": _huge,
}


def _limit_memory() -> None:
    # Before the fix a link to /dev/zero is read until memory runs out: fail fast instead.
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def _runs(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "missionctl", "runs", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=_limit_memory,
    )


def _run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "runs" / "r1-bad"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"agent": "r1", "preset": "cpu-tiny"}))
    return run


@pytest.mark.parametrize("kind", list(BAD_FILES))
@pytest.mark.parametrize("name", ["metrics.jsonl", "config.json", "run.lock"])
def test_runs_lists_a_run_whose_files_are_not_plain_files(
    tmp_path: Path, kind: str, name: str
) -> None:
    run = _run_dir(tmp_path)
    if name != "metrics.jsonl":
        (run / "metrics.jsonl").write_text(json.dumps(START) + "\n")
    (run / name).unlink(missing_ok=True)
    BAD_FILES[kind](run / name)
    try:
        proc = _runs(tmp_path, "list", "--json")
    except subprocess.TimeoutExpired:
        pytest.fail(f"`missionctl runs` hung on a {kind} as {name}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    (listed,) = json.loads(proc.stdout)
    assert listed["run_id"] == "r1-bad" and listed["status"] == "unknown"
    if name == "metrics.jsonl":
        assert "metrics.jsonl" in listed["error"]
    proc = _runs(tmp_path, "show", "r1-bad")
    assert proc.returncode == 0 and json.loads(proc.stdout)["run_id"] == "r1-bad"


_POLL_ONCE = """
import sys
from pathlib import Path
from missionctl.train.runs.reader import MetricsTail
tail = MetricsTail(Path(sys.argv[1]))
print(tail.poll().status, tail.offset)
"""


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_metrics_tail_never_blocks_on_a_bad_metrics_file(tmp_path: Path, kind: str) -> None:
    run = _run_dir(tmp_path)
    BAD_FILES[kind](run / "metrics.jsonl")
    # Its own process, memory-capped: before the fix this blocked or read /dev/zero forever.
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _POLL_ONCE, str(run / "metrics.jsonl")],
            capture_output=True,
            text=True,
            timeout=30,
            preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"MetricsTail.poll blocked on a {kind}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    status, offset = proc.stdout.split()
    assert status == "unknown"
    assert int(offset) <= 64 << 20  # a huge file is not read whole in one poll


def test_metrics_tail_reads_a_long_file_in_bounded_steps(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    line = json.dumps(START) + "\n"
    (run / "metrics.jsonl").write_text(line * 60_000)  # about 6 MB
    tail = MetricsTail(run / "metrics.jsonl")
    tail.poll()
    first = tail.offset
    assert 0 < first < (run / "metrics.jsonl").stat().st_size
    for _ in range(100):
        if tail.offset == (run / "metrics.jsonl").stat().st_size:
            break
        tail.poll()
    assert tail.offset == (run / "metrics.jsonl").stat().st_size
