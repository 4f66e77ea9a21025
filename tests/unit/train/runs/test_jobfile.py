"""job.json: a Slurm run's job as last seen, written whole, read back, marked paused."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from missionctl.train.runs.jobfile import JobSeen, mark_paused, paused_by, read_job, write_job


def test_a_job_written_is_read_back_with_its_pause_mark(tmp_path: Path) -> None:
    assert read_job(tmp_path) is None  # a local run has none
    write_job(tmp_path, JobSeen(job_id="42", state="RUNNING", node="gpu7", submitted=1.0))
    seen = read_job(tmp_path)
    assert seen is not None and (seen.job_id, seen.state, seen.node) == ("42", "RUNNING", "gpu7")
    assert seen.updated is not None and not seen.paused
    assert seen.describe() == "job 42 running on gpu7"
    assert oct((tmp_path / "job.json").stat().st_mode & 0o777) == "0o600"
    assert paused_by(tmp_path) is None
    mark_paused(tmp_path, "signal")
    assert paused_by(tmp_path) == "signal"
    paused = read_job(tmp_path)
    assert paused == msgspec.structs.replace(seen, paused=True)
    assert paused.describe() == "job 42 suspended (paused)"
    mark_paused(tmp_path, None)
    assert read_job(tmp_path) == seen and paused_by(tmp_path) is None


def test_what_each_state_reads_as() -> None:
    assert JobSeen(job_id="7").describe() == "job 7 pending"
    assert JobSeen(job_id="7", reason="Resources").describe() == "job 7 pending (Resources)"
    assert JobSeen(job_id="7", paused=True).describe() == "job 7 held (paused)"
    assert (
        JobSeen(job_id="7", state="TIMEOUT", reason="TimeLimit").state_text()
        == "timeout (TimeLimit)"
    )
    assert JobSeen(job_id="7", state="NODE_FAIL").state_text() == "node fail"


def test_a_damaged_or_planted_job_file_reads_as_none(tmp_path: Path) -> None:
    (tmp_path / "job.json").write_text('{"job_id": 42')
    assert read_job(tmp_path) is None
    (tmp_path / "job.json").unlink()
    os.mkfifo(tmp_path / "job.json")  # an agent's trap: reading must not block
    assert read_job(tmp_path) is None
