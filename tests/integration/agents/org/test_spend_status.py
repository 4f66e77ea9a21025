"""Tokens and cost reach `missionctl status` (table and --json) and the app's monitor,
for every kind of agent, read from where each writes them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable

from missionctl.agents.org.hub import Hub
from missionctl.agents.org.monitor import OrgMonitor
from missionctl.ledger.spend import Tokens, UsageLog, usage_log_path
from tests.helpers import FIXTURES, run_cli

SPEND = FIXTURES / "spend"
ORG = """
[[agent]]
name = "cl"
provider = "claude"
budget_usd = 0.001

[[agent]]
name = "cx"
provider = "codex"

[[agent]]
name = "oa"
provider = "openai"
budget_tokens = 1_000_000

[[agent]]
name = "sh"
provider = "shell"

[providers.openai]
base_url = "http://127.0.0.1:9/v1"
prices = { "local-coder" = { input = 1.0, output = 2.0 } }
"""


def _spent(hub: Hub) -> None:
    runtime = hub.ws.runtime
    project = runtime / "agent-config" / "cl" / "claude" / "projects" / "-lab-cl"
    project.mkdir(parents=True)
    shutil.copy(SPEND / "claude-2.1.197-transcript.jsonl", project / "s.jsonl")
    day = runtime / "agent-config" / "cx" / "codex" / "sessions" / "2026" / "12" / "05"
    day.mkdir(parents=True)
    shutil.copy(SPEND / "codex-0.171-rollout.jsonl", day / "rollout-1.jsonl")
    UsageLog(usage_log_path(runtime, "oa")).append("local-coder", Tokens(400_000, 100_000))


def test_status_and_the_monitor_show_each_agents_tokens_and_cost(
    hub_factory: Callable[..., Hub],
) -> None:
    hub = hub_factory(ORG)
    _spent(hub)
    root = hub.ws.root

    code, out, err = run_cli(["status", "--json"], cwd=root)
    assert code == 0, err
    agents = {a["name"]: a for a in json.loads(out)["agents"]}
    cl, cx, oa, sh = (agents[n] for n in ("cl", "cx", "oa", "sh"))
    assert cl["spend"]["tokens"] == {"input": 200, "output": 20, "cache_read": 0,
                                     "cache_write": 0, "total": 220}  # fmt: skip
    assert cl["spend"]["cost_usd"] == 0.0015 and cl["spend"]["answers"] == 2
    assert cl["budget"] == {
        "usd": 0.001,
        "tokens": None,
        "warning": "over budget: $0.0015 of $0.0010",
    }
    assert cx["spend"]["tokens"]["total"] == 220 and cx["spend"]["cost_usd"] == 0.00045
    assert oa["spend"]["cost_usd"] == 0.6 and oa["budget"]["warning"] is None
    assert sh["spend"] is None

    code, out, _ = run_cli(["status"], cwd=root)
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "220" in rows["cl"] and "$0.0015" in rows["cl"] and "over budget" in rows["cl"]
    assert "500.0k" in rows["oa"] and "$0.60" in rows["oa"]

    views = {v.name: v for v in OrgMonitor(hub).poll().agents}
    assert views["cx"].spend is not None and views["cx"].spend.tokens.total == 220
    assert views["cl"].budget_warning is not None and views["oa"].budget_warning is None
    assert views["sh"].spend is None
