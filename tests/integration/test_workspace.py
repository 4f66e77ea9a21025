"""`missionctl init`, `status` and the CLI's error contract, with real git."""

from __future__ import annotations

from pathlib import Path

import pytest

from missionctl import orgfile
from tests.helpers import git, run_cli, run_missionctl
from tests.unit.test_orgfile import BAD


def test_init_writes_the_org_and_ignores_runtime(repo: Path) -> None:
    code, out, err = run_cli(["init"], cwd=repo)
    assert code == 0, err
    for rel in (
        "org/org.toml",
        "org/program.md",
        "org/prompts/researcher.md",
        "org/prompts/chief.md",
        "org/prompts/standup.md",
    ):
        assert (repo / rel).is_file(), rel
        assert f"wrote {rel}" in out
    org = orgfile.load(repo / "org/org.toml")
    assert org.name == "lab" and org.base_branch == "main" and len(org.agents) == 8
    program = (repo / "org/program.md").read_text()
    for must in ("baseline", "seed", "FLOPs", "val_bpb"):
        assert must in program
    exclude = (repo / ".git/info/exclude").read_text()
    assert "/.missionctl/" in exclude.splitlines()
    assert (repo / ".missionctl").stat().st_mode & 0o777 == 0o700  # init makes it, private
    (repo / ".missionctl" / "junk").write_text("x")
    assert ".missionctl" not in git(repo, "status", "--porcelain")


def test_init_twice_changes_nothing_and_says_so(repo: Path) -> None:
    assert run_cli(["init"], cwd=repo)[0] == 0
    before = {
        p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git/objects" not in str(p)
    }
    code, out, _ = run_cli(["init"], cwd=repo)
    after = {
        p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git/objects" not in str(p)
    }
    assert code == 0
    assert "nothing changed" in out
    assert before == after


def test_init_keeps_an_edited_org(repo: Path) -> None:
    run_cli(["init"], cwd=repo)
    (repo / "org/program.md").write_text("my own question\n")
    (repo / "org/prompts/chief.md").unlink()
    code, out, _ = run_cli(["init"], cwd=repo)
    assert code == 0
    assert (repo / "org/program.md").read_text() == "my own question\n"
    assert "wrote org/prompts/chief.md" in out and "wrote org/program.md" not in out


def test_init_outside_git_is_a_clear_error(tmp_path: Path) -> None:
    code, _out, err = run_cli(["init", str(tmp_path)], cwd=tmp_path)
    assert code == 2
    assert "not inside a git repository" in err and "--git-init" in err
    assert not (tmp_path / "org").exists()


def test_init_git_init_makes_a_repo_whose_base_branch_exists(tmp_path: Path) -> None:
    target = tmp_path / "fresh"
    code, _, err = run_cli(["init", "--git-init", str(target)], cwd=tmp_path)
    assert code == 0, err
    assert git(target, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert "org/org.toml" in git(target, "ls-files").split()
    # Worktrees can be made straight away: the base branch has a commit.
    code, _out, err = run_cli(["worktrees", "create", "r1"], cwd=target)
    assert code == 0, err


def test_init_uses_the_current_branch_as_base(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q", "-b", "research")
    run_cli(["init"], cwd=root)
    assert orgfile.load(root / "org/org.toml").base_branch == "research"


def test_init_in_a_subdirectory_targets_the_repository_root(repo: Path) -> None:
    sub = repo / "src" / "deep"
    sub.mkdir(parents=True)
    assert run_cli(["init"], cwd=sub)[0] == 0
    assert (repo / "org/org.toml").is_file()
    assert not (sub / "org").exists()


def test_status_lists_the_configured_agents(workspace: Path) -> None:
    code, out, _ = run_cli(["status"], cwd=workspace / "org")  # found from a subdirectory
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[2:]] == [f"r{i}" for i in range(1, 9)]
    assert sum("claude" in line for line in lines) == 4
    assert sum("codex" in line for line in lines) == 4


def test_status_outside_a_workspace_is_exit_2(tmp_path: Path) -> None:
    code, _, err = run_cli(["status"], cwd=tmp_path)
    assert code == 2 and "missionctl init" in err


def test_cli_version_help_and_unknown_command(tmp_path: Path) -> None:
    proc = run_missionctl(["--version"], cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("missionctl ")
    proc = run_missionctl(["--help"], cwd=tmp_path)
    assert proc.returncode == 0
    listed = [
        line.split()[0]
        for line in proc.stdout.split("commands:")[1].splitlines()
        if line.startswith("  ")
    ]
    assert {"init", "status", "worktrees"} <= set(listed)
    # Every listed command answers --help: the help lists only commands that work.
    for name in listed:
        sub = run_missionctl([name, "--help"], cwd=tmp_path)
        assert sub.returncode == 0, (name, sub.stderr)
    proc = run_missionctl(["frobnicate"], cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "unknown command" in proc.stderr


def test_bad_option_is_one_line_exit_2(workspace: Path) -> None:
    proc = run_missionctl(["worktrees", "list", "--colour"], cwd=workspace)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--colour" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("case", BAD[:20], ids=[c[0] for c in BAD[:20]])
def test_bad_org_through_the_cli_exits_2(
    case: tuple[str, str, str, int | None], workspace: Path
) -> None:
    (workspace / "org" / "org.toml").write_text(case[1])
    code, out, err = run_cli(["status"], cwd=workspace)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("missionctl: ")
    assert case[2] in err
    assert "Traceback" not in err
