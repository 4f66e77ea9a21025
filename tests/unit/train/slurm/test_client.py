"""Slurm's answers, parsed: real output captured from the one-node 22.05 cluster."""

from __future__ import annotations

import pytest

from missionctl.errors import UserError
from missionctl.train.slurm import client
from missionctl.train.slurm.client import Job

# `squeue -h -t all -O <client.SQUEUE_FORMAT>`, one job per state the follower meets.
SQUEUE = """\
33|PENDING|Priority||UNLIMITED|0|missionctl-0123456789 r2 r2-20261205T120000-beef|
20|PENDING|JobHeldUser||UNLIMITED|0|(null)|
15|RUNNING|None|vm|UNLIMITED|0|missionctl-0123456789 r1 r1-20261205T233911-ed8b|
5|SUSPENDED|None|vm|UNLIMITED|0|missionctl abc r1 run-1|
4|TIMEOUT|TimeLimit|vm|1:00|36608|(null)|
3|CANCELLED|None|vm|UNLIMITED|36608|(null)|
31|FAILED|NonZeroExitCode|vm|UNLIMITED|768|(null)|
32|FAILED|JobLaunchFailure|vm|UNLIMITED|9|(null)|
13|COMPLETED|None|vm|UNLIMITED|0|a comment | with bars|
"""


def test_squeue_lines_become_jobs() -> None:
    jobs = {job.job_id: job for job in client.parse_squeue(SQUEUE)}
    assert jobs["33"] == Job(
        "33", "PENDING", reason="Priority", time_limit="UNLIMITED", exit_code=0,
        comment="missionctl-0123456789 r2 r2-20261205T120000-beef",
    )  # fmt: skip
    assert jobs["20"].reason == "JobHeldUser" and jobs["20"].comment is None
    assert (jobs["15"].state, jobs["15"].node, jobs["15"].reason) == ("RUNNING", "vm", None)
    # The exit status is wait(2)'s: 36608 is exit code 143 (SIGTERM caught), 9 a SIGKILL.
    assert (jobs["4"].state, jobs["4"].reason, jobs["4"].time_limit) == (
        "TIMEOUT",
        "TimeLimit",
        "1:00",
    )
    assert (jobs["4"].exit_code, jobs["4"].signal) == (143, None)
    assert (jobs["31"].exit_code, jobs["31"].signal) == (3, None)
    assert (jobs["32"].exit_code, jobs["32"].signal) == (None, 9)
    assert jobs["13"].comment == "a comment | with bars"  # the free text is the last field
    assert [j.active for j in jobs.values()] == [True] * 4 + [False] * 5


def test_sacct_lines_become_jobs() -> None:
    # With the accounting daemon (`CANCELLED by 0`), and from the completion log (`sacct -c`).
    text = "3|CANCELLED by 0|0:15|vm|UNLIMITED\n31|FAILED|3:0|vm|UNLIMITED\n4|TIMEOUT|0:0|vm|1\n"
    jobs = client.parse_sacct(text)
    assert [(j.job_id, j.state, j.exit_code, j.signal) for j in jobs] == [
        ("3", "CANCELLED", 0, 15), ("31", "FAILED", 3, None), ("4", "TIMEOUT", 0, None),
    ]  # fmt: skip
    assert client.parse_sacct("garbage\n\n|||\n") == []


@pytest.mark.parametrize(("text", "job_id"), [("42\n", "42"), ("42;cluster\n", "42")])
def test_sbatch_parsable_answers(text: str, job_id: str) -> None:
    assert client.parse_job_id(text) == job_id


def test_an_answer_that_is_no_job_id_is_an_error() -> None:
    with pytest.raises(UserError, match="not a job id"):
        client.parse_job_id("sbatch: error: oops\n")
