"""Fixtures for real training runs: tiny configs, in-process or as `python -m missionctl.train`."""

from __future__ import annotations

import dataclasses
import io
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from missionctl.train.config import Budget, TrainConfig
from missionctl.train.trainer import RunRequest, RunResult, train

# Small enough that a step takes milliseconds; big enough to learn something.
TINY = TrainConfig(
    depth=1, width=64, head_dim=32, seq_len=32, batch_size=4, evals=1, eval_tokens=512, lr=1e-2
)
TINY_SETS = [
    "depth=1", "width=64", "head_dim=32", "seq_len=32", "batch_size=4", "evals=1",
    "eval_tokens=512", "lr=1e-2",
]  # fmt: skip

Trainer = Callable[..., tuple[RunResult, str]]


@pytest.fixture
def run_tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Trainer:
    """Train TINY in-process from `tmp_path` (so runs land in tmp_path/runs); (result, output)."""
    monkeypatch.chdir(tmp_path)

    def run(
        budget: str = "steps=4", knobs: dict[str, Any] | None = None, **request: Any
    ) -> tuple[RunResult, str]:
        config = dataclasses.replace(TINY, **(knobs or {}))
        req = RunRequest(
            preset="cpu-tiny", config=config, budget=Budget.parse(budget), threads=1, **request
        )
        out = io.StringIO()
        return train(req, out=out), out.getvalue()

    return run


def trainer_command(*args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "missionctl.train",
        "--preset",
        "cpu-tiny",
        "--threads",
        "1",
        *args,
    ]


def start_trainer(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """`python -m missionctl.train` as its own process, output piped, with SIGINT at
    its default as under a terminal: a suite started as a shell's background job
    inherits SIGINT ignored (POSIX), and Python then installs no Ctrl-C handler."""
    return subprocess.Popen(
        trainer_command(*args),
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
