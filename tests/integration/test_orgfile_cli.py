"""A bad org.toml through the real CLI (issue 12, bug 8): one line, exit 2, no traceback;
and the API-key warning (bug 15) printed once per process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_missionctl, run_python
from tests.unit.test_orgfile_bounds import BOUNDS, _provider


@pytest.mark.parametrize(
    "case", ["5000-digit-integer", "100000-nested-tables", "standup-every-0s", "env-value-with-nul"]
)
def test_the_cli_reports_a_bad_org_in_one_line_and_exit_2(workspace: Path, case: str) -> None:
    text = next(c[1] for c in BOUNDS if c[0] == case)
    (workspace / "org" / "org.toml").write_text(text)
    proc = run_missionctl(["worktrees", "list"], cwd=workspace)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_the_key_warning_is_printed_once_per_process_on_stderr(
    workspace: Path,
) -> None:
    key = "sk-proj-" + "a1B2" * 10
    (workspace / "org" / "org.toml").write_text(
        _provider(f'env = {{ OPENAI_API_KEY = "{key}" }}', "openai")
    )
    script = (
        "from missionctl.workspace import find\n"
        "ws = find()\n"
        "for _ in range(3):\n"
        "    ws.load_org()\n"
    )
    proc = run_python(script, cwd=workspace)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "OPENAI_API_KEY" in lines[0] and key not in proc.stderr
    assert lines[0].startswith("missionctl: warning:")
