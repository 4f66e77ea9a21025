"""How often a terminal following a pending job asks Slurm about it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from missionctl.train.runs.jobfile import JobSeen, write_job
from missionctl.train.runs.record import RunRecord
from missionctl.train.slurm import follow
from missionctl.train.slurm.client import Job


def test_a_pending_job_is_asked_about_once_a_poll_not_every_tick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The submitter writes job.json before it follows: the run has its id from then
    # on, but it has not started, so there is no news to ask Slurm about sooner.
    record = RunRecord(tmp_path, "r1-x")
    write_job(record.path, JobSeen(job_id="7"))
    clock = [0.0]
    asked: list[float] = []

    def job(job_id: str) -> Job:
        asked.append(clock[0])
        return Job(job_id, "PENDING" if clock[0] < 20 else "COMPLETED", reason="Priority")

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    monkeypatch.setattr(follow.client, "job", job)
    monkeypatch.setattr(follow.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(follow.time, "sleep", sleep)
    result = follow.Follower(record, "7", poll=5.0, out=io.StringIO()).watch()
    assert isinstance(result, Job) and result.state == "COMPLETED"
    # Once at the start, then every 5 s of the 20 pending: not every 0.5 s (40 times).
    assert len(asked) <= 6, asked
