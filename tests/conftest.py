"""Shared fixtures: every test runs with a private HOME, git config and tmux dir."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from missionctl.agents.org.hub import Hub
from missionctl.workspace import Workspace
from tests.fakes.messages_api import FakeMessagesAPI
from tests.fakes.responses_api import FakeResponsesAPI
from tests.helpers import git, run_cli, write_org

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """No test reads or writes the user's home, git config, tmux server or workspace."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for var, value in {
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }.items():
        monkeypatch.setenv(var, value)
    for var in ("MISSIONCTL_WORKSPACE", "MISSIONCTL_AGENT", "TMUX", "TMUX_PANE"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def tmux_tmpdir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private, short TMUX_TMPDIR (unix socket paths are limited to ~100 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="mc-tmux-", dir="/tmp"))
    monkeypatch.setenv("TMUX_TMPDIR", str(path))
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fresh git repository on `main` with one commit."""
    root = tmp_path / "lab"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("# lab\n")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "first")
    return root


@pytest.fixture
def workspace(repo: Path) -> Path:
    """`repo` after `missionctl init`, with the org committed on `main`."""
    code, _, err = run_cli(["init", str(repo)], cwd=repo)
    assert code == 0, err
    git(repo, "add", "org")
    git(repo, "commit", "-q", "-m", "org")
    return repo


@pytest.fixture
def hub_factory(workspace: Path, tmux_tmpdir: Path) -> Iterator[Callable[[str, str], Hub]]:
    """Write an org, return its Hub; the hub is brought down after the test."""
    hubs: list[Hub] = []

    def make(agents: str, extra: str = "") -> Hub:
        write_org(workspace, agents, extra)
        hub = Hub(Workspace(workspace))
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.down(grace=1.0)


# CI (`.ci/run`) starts a one-node Slurm cluster and sets this: there the Slurm tests
# must run, and fail when the cluster is not up; elsewhere they skip without one.
ENV_SLURM_TESTS = "MISSIONCTL_TEST_SLURM"


@pytest.fixture(scope="session")
def slurm_cluster() -> str:
    """The Slurm cluster's `sinfo` line; skips (or, in CI, fails) without one."""
    try:
        proc = subprocess.run(
            ["sinfo", "-h", "-o", "%P %D %c %T"], capture_output=True, text=True, timeout=10
        )
        answer = proc.stdout.strip() if proc.returncode == 0 else proc.stderr.strip()
        ready = proc.returncode == 0 and any(
            line.split()[-1] in ("idle", "mixed", "allocated") for line in answer.splitlines()
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        answer, ready = str(exc), False
    if not ready:
        why = f"no Slurm cluster takes jobs here ({answer or 'sinfo said nothing'})"
        if os.environ.get(ENV_SLURM_TESTS) == "required":
            pytest.fail(f"{why}; {ENV_SLURM_TESTS}=required: `tests/slurm/cluster.sh up` must work")
        pytest.skip(f"{why}; `sudo tests/slurm/cluster.sh up` makes a one-node one")
    return answer


@pytest.fixture
def messages_api() -> Iterator[FakeMessagesAPI]:
    """A fake Anthropic Messages API on a free local port (Claude Code's model)."""
    server = FakeMessagesAPI()
    with server:
        yield server


@pytest.fixture
def responses_api() -> Iterator[FakeResponsesAPI]:
    """A fake OpenAI Responses API on a free local port (Codex's model)."""
    server = FakeResponsesAPI()
    with server:
        yield server
