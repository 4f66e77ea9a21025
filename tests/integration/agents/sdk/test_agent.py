"""The SDK agents on the real `anthropic` and `openai` clients, over real HTTP, against
fake Messages, Chat Completions and Responses servers: tools, retries, errors, the
context window, budgets, approval. (In a real hub: tests/e2e/test_sdk_agents.py.)"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from missionctl.agents.sdk.context import SUMMARY_ASK
from missionctl.ledger.spend import usage_log_path
from tests.fakes.model_server import CallTool, Fail, FakeModelServer, Say, user_texts
from tests.integration.agents.sdk.harness import (
    APIS,
    FIRST,
    KEY,
    run_agent,
    server_for,
    tool_outputs,
)


@pytest.fixture(params=list(APIS))
def api(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(api: str) -> Iterator[FakeModelServer]:
    with server_for(api) as fake:
        yield fake


def test_a_tool_call_runs_in_the_worktree_and_its_output_goes_back(
    tmp_path: Path, api: str, server: FakeModelServer
) -> None:
    server.script(
        CallTool("shell", {"command": "pwd > where.txt; echo made it; ls"}, why="Looking."),
        Say("The worktree has where.txt."),
    )
    run = run_agent(tmp_path, api, server)

    assert run.code == 0
    # The first message went first; the command ran in the worktree.
    assert user_texts(run.turns[0])[0] == FIRST
    assert (run.worktree / "where.txt").read_text().strip() == str(run.worktree)
    (output,) = tool_outputs(run.turns[1])
    assert "made it\nwhere.txt" in output and "[exit code 0]" in output
    # Shown as it ran, then the answer; state: working, working on the tool, idle.
    assert "● shell(pwd > where.txt; echo made it; ls)" in run.output
    assert "  └ made it" in run.output
    assert "● The worktree has where.txt." in run.output
    assert run.hooks.names == ["working", "working", "idle"]
    assert run.hooks.events[1][1] == {"message": "shell"}
    # Two answers, two lines of usage, counted as the server reported them.
    lines = usage_log_path(run.runtime, "r1").read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["model"] == "fake-model" and first["output"] > 0
    assert first["input"] + first["cache_read"] == run.turns[0].input_tokens
    assert oct(usage_log_path(run.runtime, "r1").stat().st_mode & 0o777) == "0o600"


def test_typed_lines_are_turns_and_are_reported_with_their_text(
    tmp_path: Path, server: FakeModelServer, api: str
) -> None:
    server.script(Say("Ready."), Say("Reading it now."))
    notice = "1 new message from human: baseline — run `missionctl mail inbox`"
    run = run_agent(tmp_path, api, server, [notice, "/usage", ""])

    assert len(run.turns) == 2
    assert user_texts(run.turns[1])[-1] == notice
    assert ("UserPromptSubmit", {"prompt": notice}) in run.hooks.events
    # /usage is answered by the agent itself: tokens and cost (no price for a fake model).
    assert "tokens (" in run.output and "in 2 answers: $?" in run.output
    # Each prompt shows on its own line, and the agent is idle at it.
    assert run.output.count("r1> ") == 4
    assert run.hooks.names.count("idle") == 4 and run.hooks.names[-1] == "idle"


def test_file_tools_stay_inside_the_worktree(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not yours")
    with server_for("openai-chat") as server:
        worktree = tmp_path / "worktree"
        worktree.mkdir()
        (worktree / "link").symlink_to(outside)
        server.script(
            CallTool("write_file", {"path": "../x", "content": "escaped"}),
            CallTool("read_file", {"path": "link/secret.txt"}),
            CallTool("write_file", {"path": str(outside / "y"), "content": "escaped"}),
            CallTool("write_file", {"path": "notes/plan.md", "content": "step 1\nstep 2\n"}),
            CallTool("replace_in_file", {"path": "notes/plan.md", "old": "step 2", "new": "done"}),
            CallTool("read_file", {"path": "notes/plan.md"}),
            CallTool("list_dir", {}),
            Say("Done."),
        )
        run = run_agent(tmp_path, "openai-chat", server)

    results = [tool_outputs(t)[-1] for t in run.turns[1:]]
    assert results[0].startswith("error: '../x' uses '..'")
    assert results[1].startswith(
        "error: 'link/secret.txt' leads outside your worktree through a symbolic link"
    )
    assert results[2].startswith("error:") and "leads outside your worktree" in results[2]
    assert not (tmp_path / "x").exists() and not (outside / "y").exists()
    assert "not yours" not in run.output + "".join(results)
    assert results[3] == "wrote 14 bytes to notes/plan.md"
    assert results[4] == "replaced 1 occurrence(s) in notes/plan.md"
    assert results[5] == "step 1\ndone\n"
    assert results[6].splitlines() == ["link -> " + str(outside), "notes/"]


@pytest.mark.parametrize("status", [429, 500])
def test_rate_limits_and_server_errors_are_retried_and_shown(
    tmp_path: Path, api: str, server: FakeModelServer, status: int
) -> None:
    retry_after = "0" if status == 429 else None
    server.script(Fail(status, "slow down", retry_after=retry_after), Say("Here after all."))
    run = run_agent(tmp_path, api, server)

    assert len(run.turns) == 2
    (warning,) = run.lines("⚠ ")
    what = "rate limited" if status == 429 else "API error"
    assert warning.startswith(f"⚠ {what} ({status}): slow down; retrying in")
    assert "(try 2 of 8)" in warning
    # The server's Retry-After is obeyed; without one, backoff from about a second.
    assert run.sleeps[0] == 0.0 if status == 429 else 0.75 <= run.sleeps[0] <= 1.25
    assert "● Here after all." in run.output
    assert "needs-you" not in run.hooks.names and run.hooks.names[-1] == "idle"


@pytest.mark.parametrize(
    ("status", "fix"),
    [(401, "check the key in $"), (404, "check `model` (and `base_url`)")],
)
def test_a_bad_key_or_unknown_model_is_one_line_and_needs_you(
    tmp_path: Path, api: str, server: FakeModelServer, status: int, fix: str
) -> None:
    # Some servers quote what they were sent: the key must not reach the screen or a file.
    server.script(Fail(status, f"invalid credentials {KEY}"), Fail(status, "still no"))
    run = run_agent(tmp_path, api, server, ["/usage", "try again"])

    assert len(run.turns) == 2  # never retried by itself; the typed line tried again
    errors = run.lines("✗ ")
    assert len(errors) == 2 and all(f"{status} " in e and fix in e for e in errors)
    assert KEY not in run.output and "[key]" in errors[0]
    assert "Traceback" not in run.output
    needs = [p for e, p in run.hooks.events if e == "needs-you"]
    assert len(needs) == 3 and KEY not in json.dumps(needs)
    # Waiting for a person: never reported idle after the error, not even after /usage.
    after = run.hooks.names[run.hooks.names.index("needs-you") :]
    assert after == ["needs-you", "UserPromptSubmit", "needs-you", "UserPromptSubmit",
                     "working", "needs-you"]  # fmt: skip


def test_the_context_limit_shortens_then_summarises_and_the_session_goes_on(
    tmp_path: Path,
) -> None:
    big = "for i in $(seq 1 150); do echo line $i of a long listing; done"
    note = "Remember this, it matters: " + "the baseline uses softcap 15. " * 120
    with server_for("openai-chat") as server:
        server.side_reply = Say("SUMMARY: looked at two long listings; noted the baseline.")
        server.script(
            CallTool("shell", {"command": big}), CallTool("shell", {"command": big}),
            CallTool("shell", {"command": big}), Say("Listed it three times."),
            Say("Noted."), Say("Noted again."), Say("Noted a third time."),
            Say("Still here, from my summary."),
        )  # fmt: skip
        run = run_agent(tmp_path, "openai-chat", server, [note, note, note, "what now?"],
                        extra="context_limit = 5000\n")  # fmt: skip
        requests = list(server.requests)

    # Old outputs were shortened first...
    assert "✻ context: shortened" in run.output
    assert any(
        "characters dropped to save context" in o for t in run.turns for o in tool_outputs(t)
    )
    # ...then the model was asked for a summary, and the session went on from it.
    summaries = [r for r in requests if any(SUMMARY_ASK in t for t in user_texts(r))]
    assert len(summaries) >= 1
    after = run.turns[run.turns.index(requests[requests.index(summaries[0]) + 1])]
    texts = user_texts(after)
    assert texts[0] == FIRST and "SUMMARY: looked at two long listings" in texts[1]
    assert "✻ context: continuing from a summary" in run.output
    assert "● Still here, from my summary." in run.output
    assert run.code == 0 and "needs-you" not in run.hooks.names
    # No request went over the limit the org set.
    assert max(r.input_tokens for r in requests) < 5000


def test_a_spent_budget_refuses_the_next_turn_until_it_is_raised(tmp_path: Path) -> None:
    with server_for("anthropic") as server:
        server.script(Say("First turn done."), Say("Going on with a bigger budget."))
        # The person raises the budget in org.toml after the refusal, then types again.
        run = run_agent(tmp_path, "anthropic", server, ["next please", "raised it, go on"],
                        agent="budget_tokens = 50\n",
                        reloads=["budget_tokens = 50\n", "budget_tokens = 1_000_000\n"])  # fmt: skip
    assert len(run.turns) == 2  # "next please" was held back, then sent with the next line
    assert user_texts(run.turns[1])[-2:] == ["next please", "raised it, go on"]
    assert "● Going on with a bigger budget." in run.output
    (refusal,) = run.lines("✗ ")
    assert refusal.startswith("✗ over budget:") and "of 50 tokens: this turn is not sent" in refusal
    assert "raise budget_usd or budget_tokens for r1 in org/org.toml" in refusal
    needs = [p for e, p in run.hooks.events if e == "needs-you"]
    assert len(needs) == 1 and str(needs[0]["message"]).startswith("over budget")
    assert run.hooks.names[-1] == "idle"


def test_risky_commands_wait_for_a_yes(tmp_path: Path) -> None:
    (tmp_path / "worktree").mkdir()
    (tmp_path / "worktree" / "build").mkdir()
    with server_for("openai-responses") as server:
        server.script(
            CallTool("shell", {"command": "rm -rf build"}), Say("It was not allowed."),
            CallTool("shell", {"command": "rm -rf build"}), Say("Removed."),
        )  # fmt: skip
        run = run_agent(tmp_path, "openai-responses", server, ["n", "again please", "y"])

    first, second = (tool_outputs(run.turns[i])[-1] for i in (1, 3))
    assert first.startswith("error: the person did not allow this command")
    assert second == "[exit code 0, no output]" and not (run.worktree / "build").exists()
    assert (
        run.output.count(
            "? Allow command? It deletes files recursively or by force: rm -rf build [y/N]"
        )
        == 2
    )
    asked = [p for e, p in run.hooks.events if e == "needs-you"]
    assert asked and str(asked[0]["message"]).startswith("Allow command?")


def test_approve_auto_runs_without_asking(tmp_path: Path) -> None:
    (tmp_path / "worktree").mkdir()
    (tmp_path / "worktree" / "build").mkdir()
    with server_for("openai-chat") as server:
        server.script(CallTool("shell", {"command": "rm -rf build"}), Say("Removed."))
        run = run_agent(tmp_path, "openai-chat", server, extra='approve = "auto"\n')
    assert not (run.worktree / "build").exists()
    assert "[y/N]" not in run.output and "needs-you" not in run.hooks.names


def test_commands_do_not_see_the_key(tmp_path: Path) -> None:
    with server_for("openai-chat") as server:
        server.script(CallTool("shell", {"command": "env > env.txt"}), Say("Done."))
        run = run_agent(tmp_path, "openai-chat", server)
        assert server.turns[0].headers["authorization"] == f"Bearer {KEY}"
    env = (run.worktree / "env.txt").read_text()
    assert KEY not in env and "OPENAI_API_KEY" not in env
    assert "PATH=" in env


def test_a_local_server_needs_no_key(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    with server_for("openai-chat") as server:
        server.script(Say("Hello from a local model."))
        run = run_agent(tmp_path, "openai-chat", server, environ=environ)
        assert server.turns[0].headers["authorization"] == "Bearer missionctl-no-key"
    assert "● Hello from a local model." in run.output
