"""The anthropic and openai providers: truthful traits, the command, the key check,
and the per-agent model every provider honours."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from missionctl.agents.org.hub import Hub
from missionctl.agents.providers import LaunchContext, provider_for
from missionctl.agents.state.store import HookRecord
from missionctl.agents.supervision.notices import may_type
from missionctl.errors import UserError
from missionctl.orgfile import loads
from missionctl.workspace import Workspace
from tests.helpers import run_cli

ORG = """
[org]
name = "lab"

[[agent]]
name = "oa"
provider = "openai"

[[agent]]
name = "an"
provider = "anthropic"
model = "claude-haiku-4-5"

[[agent]]
name = "cl"
provider = "claude"
model = "claude-opus-4-8"

[[agent]]
name = "cx"
provider = "codex"
model = "gpt-5.4"

[providers.codex]
model = "gpt-5-codex"
"""


def _ctx(workspace: Path, agent: str, extra: str = "") -> LaunchContext:
    org = loads(ORG + extra)
    return LaunchContext(Workspace(workspace), org, org.agent(agent), workspace / "wt")


@pytest.mark.parametrize("name", ["anthropic", "openai"])
def test_traits_say_what_the_program_does(name: str) -> None:
    provider = provider_for(name)
    assert provider.name == name and provider.notice_channel == "type"
    assert provider.line_program and provider.has_hooks
    assert provider.has_prompt_hook and provider.reports_work
    # Idle by its hooks, its prompt alone on the last line: a notice may be typed.
    idle = HookRecord("oa", "idle", "idle", 1.0)
    assert may_type(provider, idle, "● Done.\noa> ") is None
    assert may_type(provider, idle, "oa> half-typ") is not None
    assert (
        may_type(provider, idle, "? Allow command? It kills processes: pkill x [y/N] ") is not None
    )


def test_the_command_is_missionctls_own_agent(workspace: Path) -> None:
    ctx = _ctx(workspace, "oa")
    assert provider_for("openai").command(ctx) == [
        sys.executable,
        "-m",
        "missionctl.agents.sdk",
        "oa",
    ]


def test_a_missing_key_is_refused_unless_a_server_needs_none(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(
        UserError, match=r"agent oa \(openai\) needs an API key in \$OPENAI_API_KEY"
    ):
        provider_for("openai").check(_ctx(workspace, "oa"))
    custom = '\n[providers.anthropic]\napi_key_env = "LAB_CLAUDE_KEY"\n'
    with pytest.raises(UserError, match=r"\$LAB_CLAUDE_KEY"):
        provider_for("anthropic").check(_ctx(workspace, "an", custom))
    monkeypatch.setenv("LAB_CLAUDE_KEY", "sk-ant-x")
    provider_for("anthropic").check(_ctx(workspace, "an", custom))
    local = '\n[providers.openai]\nbase_url = "http://localhost:8000/v1"\n'
    provider_for("openai").check(_ctx(workspace, "oa", local))


def test_up_stops_before_anything_starts_when_a_key_is_missing(
    hub_factory: Callable[..., Hub], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    hub = hub_factory('[[agent]]\nname = "oa"\nprovider = "openai"\n')
    code, _, err = run_cli(["up"], cwd=hub.ws.root)
    assert code == 2 and "needs an API key in $OPENAI_API_KEY" in err
    assert len(err.strip().splitlines()) == 1 and not hub.is_up()


def test_an_agents_own_model_wins_for_every_provider(workspace: Path) -> None:
    claude = provider_for("claude").env(_ctx(workspace, "cl"))
    assert claude["ANTHROPIC_MODEL"] == "claude-opus-4-8"
    argv = provider_for("codex").command(_ctx(workspace, "cx"))
    assert argv[argv.index("-m") + 1] == "gpt-5.4"
    assert _ctx(workspace, "an").model == "claude-haiku-4-5"
    assert _ctx(workspace, "oa").model is None  # the SDK agent's default applies
