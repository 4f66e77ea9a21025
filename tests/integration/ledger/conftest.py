"""Real cpu-tiny runs, trained once per session, copied into each test's own workspace.

Each confound is built from these: a run trained differently on purpose (other
data, other threads, a diverging learning rate, two runs at once on a
wall-clock budget) or a copy whose metadata a test edits on purpose.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from missionctl.ledger import Ledger
from missionctl.train.config import Budget, apply_overrides, preset
from missionctl.train.trainer import RunRequest, train
from missionctl.workspace_cli import init

BUDGET = "flops=3e10"  # 21 steps of cpu-tiny: a second or two each
SEEDS = (1, 2, 3)
GIT_IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid"]


def clean_spec(**changes: Any) -> dict[str, Any]:
    """The softcap experiment on the session's runs: one knob, three seeds."""
    spec: dict[str, Any] = {
        "id": "softcap",
        "question": "Can the logit softcap go without a regression?",
        "metric": "val_bpb",
        "goal": "lower",
        "test": "noninferiority",
        "margin": 0.01,
        "alpha": 0.05,
        "seeds": list(SEEDS),
        "preset": "cpu-tiny",
        "budget": BUDGET,
        "arms": {
            "baseline": {"set": {"logit_softcap": 15}},
            "nocap": {"set": {"logit_softcap": 0}},
        },
    }
    spec.update(changes)
    return spec


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *GIT_IDENTITY, "-C", str(root), *args],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout  # fmt: skip


@contextlib.contextmanager
def _inside(root: Path) -> Iterator[None]:
    """Train as an agent in `root` would: its cwd, and its workspace in the environment."""
    old_cwd, old_env = Path.cwd(), os.environ.get("MISSIONCTL_WORKSPACE")
    os.chdir(root)
    os.environ["MISSIONCTL_WORKSPACE"] = str(root)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        if old_env is None:
            os.environ.pop("MISSIONCTL_WORKSPACE", None)
        else:
            os.environ["MISSIONCTL_WORKSPACE"] = old_env


def _train(
    run_id: str,
    seed: int,
    sets: dict[str, Any],
    budget: str = BUDGET,
    threads: int = 1,
    data: Path | None = None,
) -> None:
    config, _ = apply_overrides(preset("cpu-tiny").config(), [f"{k}={v}" for k, v in sets.items()])
    request = RunRequest(
        preset="cpu-tiny", config=config, budget=Budget.parse(budget), init_seed=seed,
        data_seed=seed, threads=threads, run_id=run_id, data=data,
    )  # fmt: skip
    result = train(request, out=io.StringIO())
    assert result.status in ("ok", "nan"), result.error


@dataclasses.dataclass(frozen=True)
class Golden:
    root: Path
    commit: str


@pytest.fixture(scope="session")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Golden:
    """A workspace with the session's real runs (ids are their labels)."""
    root = tmp_path_factory.mktemp("golden") / "lab"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("# lab\n")
    init(root)
    _git(root, "add", "README.md", "org")
    _git(root, "commit", "-q", "-m", "lab")
    corpus = tmp_path_factory.mktemp("corpus") / "other.txt"
    corpus.write_text("".join(f"line {i}: the quick brown fox jumps\n" for i in range(2000)))
    with _inside(root):
        for seed in SEEDS:
            _train(f"base{seed}", seed, {"logit_softcap": 15})
            _train(f"nocap{seed}", seed, {"logit_softcap": 0})
        for seed in (1, 2):
            _train(f"hot{seed}", seed, {"lr": 1e6, "logit_softcap": 0, "grad_clip": 0})
        # The classic mistake: a bigger model, trained on twice the budget, one seed.
        _train("big1", 1, {"logit_softcap": 15, "width": 192}, budget="flops=6e10")
        _train("nocap2-otherdata", 2, {"logit_softcap": 0}, data=corpus)
        _train("base1-threads2", 1, {"logit_softcap": 15}, threads=2)
        # Two runs at once on a wall-clock budget: each slows the other.
        together = [
            threading.Thread(target=_train, args=(f"{arm}-seconds", 1, {"logit_softcap": cap}),
                             kwargs={"budget": "seconds=1.5"})
            for arm, cap in (("base1", 15), ("nocap1", 0))
        ]  # fmt: skip
        for thread in together:
            thread.start()
        for thread in together:
            thread.join()
    return Golden(root, _git(root, "rev-parse", "HEAD").strip())


@dataclasses.dataclass
class Lab:
    """A test's own copy of the golden workspace."""

    root: Path
    commit: str

    @property
    def runs(self) -> Path:
        return self.root / ".missionctl" / "runs"

    def ledger(self) -> Ledger:
        return Ledger.open(self.root)

    def copy_run(self, run_id: str, new_id: str) -> str:
        shutil.copytree(self.runs / run_id, self.runs / new_id)
        return new_id

    def edit(self, run_id: str, event: str, **changes: Any) -> None:
        """Change fields of one event of a run's metrics.jsonl, on purpose."""
        path = self.runs / run_id / "metrics.jsonl"
        lines = []
        for line in path.read_text().splitlines():
            obj = json.loads(line)
            if obj["event"] == event:
                obj.update(changes)
            lines.append(json.dumps(obj))
        path.write_text("\n".join(lines) + "\n")

    def event(self, run_id: str, event: str) -> dict[str, Any]:
        for line in (self.runs / run_id / "metrics.jsonl").read_text().splitlines():
            obj: dict[str, Any] = json.loads(line)
            if obj["event"] == event:
                return obj
        raise AssertionError(f"no {event} event in run {run_id}")


@pytest.fixture
def lab(golden: Golden, tmp_path: Path) -> Lab:
    root = tmp_path / "lab"
    shutil.copytree(golden.root, root, symlinks=True)
    return Lab(root, golden.commit)
