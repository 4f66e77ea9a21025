"""org.toml: the default org validates, and every bad input is one clear line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from missionctl import orgfile
from missionctl.errors import UserError

GOOD = """\
[org]
name = "softcap"
structure = "hierarchical"
base_branch = "main"

[standup]
every = "1h30m"

[[agent]]
name = "chief"
role = "chief"
provider = "scripted"

[[agent]]
name = "r1"
provider = "codex"
gpu = 0

[providers.claude]
command = ["claude", "--model", "opus"]
env = { FOO = "1" }
submit_delay = "0.3s"
"""


def test_good_org_parses_with_defaults() -> None:
    org = orgfile.loads(GOOD)
    assert org.name == "softcap"
    assert org.structure == "hierarchical"
    assert org.standup_every == 5400.0
    assert org.names == ("chief", "r1")
    assert org.agent("chief").role == "chief"
    assert org.agent("r1") == orgfile.AgentSpec("r1", "researcher", "codex", 0)
    claude = org.provider_settings("claude")
    assert claude.command == ("claude", "--model", "opus")
    assert claude.env == {"FOO": "1"}
    assert claude.submit_delay == pytest.approx(0.3)
    assert org.provider_settings("codex") == orgfile.ProviderSettings()
    assert org.provider_settings("codex").prepare_trust  # on unless switched off


def test_prepare_trust_can_be_switched_off() -> None:
    org = orgfile.loads(GOOD + "\n[providers.codex]\nprepare_trust = false\n")
    assert not org.provider_settings("codex").prepare_trust
    assert org.provider_settings("claude").prepare_trust


def test_default_org_is_eight_researchers_half_claude_half_codex() -> None:
    org = orgfile.loads(orgfile.default_org_toml("lab", "main", gpu_count=8))
    assert [a.name for a in org.agents] == [f"r{i}" for i in range(1, 9)]
    assert [a.provider for a in org.agents] == ["claude"] * 4 + ["codex"] * 4
    assert {a.role for a in org.agents} == {"researcher"}
    assert [a.gpu for a in org.agents] == list(range(8))
    assert org.structure == "flat"
    no_gpu = orgfile.loads(orgfile.default_org_toml("lab", "main", gpu_count=0))
    assert {a.gpu for a in no_gpu.agents} == {None}


def test_unknown_agent_lists_the_valid_names() -> None:
    org = orgfile.loads(GOOD)
    with pytest.raises(UserError, match=r"unknown agent 'r9'.*chief, r1"):
        org.agent("r9")


@pytest.mark.parametrize(
    ("text", "duration"),
    [("90s", 90.0), ("30m", 1800.0), ("2h", 7200.0), ("1h30m", 5400.0), ("1d", 86400.0),
     ("0.5s", 0.5), ("off", None)],
)  # fmt: skip
def test_durations(text: str, duration: float | None) -> None:
    assert orgfile.parse_duration(text) == duration


def _agents(*blocks: str) -> str:
    return "\n".join(f"[[agent]]\n{b}\n" for b in blocks)


HEAD = '[org]\nname = "lab"\n\n'
SLURM = HEAD + '[runs]\nexecutor = "slurm"\n[runs.slurm]\n'  # its keys start on line 7

# (case id, org.toml text, text the one-line error must contain, line it must name or None)
BAD: list[tuple[str, str, str, int | None]] = [
    ("toml-syntax", HEAD + "[[agent]]\nname = \n", "not valid TOML", None),
    ("unknown-top-key", "colour = 1\n" + HEAD + _agents('name = "r1"'), "colour", 1),
    ("unknown-table", HEAD + "[gpus]\nn = 1\n" + _agents('name = "r1"'), "gpus", 4),
    ("no-org-table", _agents('name = "r1"'), "missing [org]", None),
    ("unknown-org-key", '[org]\nname = "lab"\nbranch = "x"\n' + _agents('name = "r1"'), "org.branch", 3),
    ("missing-org-name", '[org]\nstructure = "flat"\n' + _agents('name = "r1"'), "missing key 'name'", 1),
    ("bad-org-name", '[org]\nname = "My Lab"\n' + _agents('name = "r1"'), "org.name", 2),
    ("bad-structure", HEAD.replace("\n\n", '\nstructure = "tree"\n\n') + _agents('name = "r1"'), "org.structure", 3),
    ("program-escapes", HEAD.replace("\n\n", '\nprogram = "../../etc/passwd"\n\n') + _agents('name = "r1"'), "org.program", 3),
    ("bad-base-branch", HEAD.replace("\n\n", '\nbase_branch = "a..b"\n\n') + _agents('name = "r1"'), "org.base_branch", 3),
    ("shared-gpu-not-bool", HEAD.replace("\n\n", '\nshared_gpu = "yes"\n\n') + _agents('name = "r1"'), "org.shared_gpu", 3),
    ("no-agents", HEAD, "no agents", None),
    ("agent-unknown-key", HEAD + _agents('name = "r1"\nmood = "x"'), "agent[0].mood", 6),
    ("agent-missing-name", HEAD + _agents('role = "researcher"'), "agent[0]: missing key 'name'", 4),
    ("agent-name-not-string", HEAD + _agents("name = 7"), "agent[0].name", 5),
    ("agent-name-uppercase", HEAD + _agents('name = "R1"'), "agent[0].name", 5),
    ("agent-name-dotdot", HEAD + _agents('name = ".."'), "agent[0].name", 5),
    ("agent-name-slash", HEAD + _agents('name = "a/b"'), "agent[0].name", 5),
    ("agent-name-too-long", HEAD + _agents('name = "' + "a" * 25 + '"'), "agent[0].name", 5),
    ("agent-name-trailing-newline", HEAD + _agents('name = "r1\\n"'), "agent[0].name", 5),
    ("org-name-trailing-newline", '[org]\nname = "lab\\n"\n' + _agents('name = "r1"'), "org.name", 2),
    ("agent-not-a-table", "agent = [1]\n" + HEAD, "not an agent table", None),
    ("agent-name-leading-digit", HEAD + _agents('name = "1"'), "agent[0].name", 5),
    ("agent-name-reserved", HEAD + _agents('name = "human"'), "reserved", 5),
    ("agent-name-duplicate", HEAD + _agents('name = "r1"', 'name = "r1"'), "agent[1].name", 8),
    ("unknown-role", HEAD + _agents('name = "r1"\nrole = "intern"'), "agent[0].role", 6),
    ("unknown-provider", HEAD + _agents('name = "r1"\nprovider = "gemini"'), "agent[0].provider", 6),
    ("negative-gpu", HEAD + _agents('name = "r1"\ngpu = -1'), "agent[0].gpu", 6),
    ("gpu-not-int", HEAD + _agents('name = "r1"\ngpu = "0"'), "agent[0].gpu", 6),
    ("two-agents-one-gpu", HEAD + _agents('name = "r1"\ngpu = 0', 'name = "r2"\ngpu = 0'), "agent[1].gpu", 10),
    ("hierarchical-no-chief", HEAD.replace("\n\n", '\nstructure = "hierarchical"\n\n') + _agents('name = "r1"'), "exactly one chief", 3),
    ("hierarchical-two-chiefs", HEAD.replace("\n\n", '\nstructure = "hierarchical"\n\n') + _agents('name = "a"\nrole = "chief"', 'name = "b"\nrole = "chief"'), "has 2", 3),
    ("flat-with-chief", HEAD + _agents('name = "a"\nrole = "chief"'), "flat org has no chief", None),
    ("bad-duration", HEAD + '[standup]\nevery = "2 hours"\n' + _agents('name = "r1"'), "standup.every", 5),
    ("duration-not-string", HEAD + "[standup]\nevery = 7200\n" + _agents('name = "r1"'), "standup.every", 5),
    ("unknown-provider-table", HEAD + _agents('name = "r1"') + "[providers.gemini]\ncommand = [\"g\"]\n", "providers.gemini", 6),
    ("provider-command-not-list", HEAD + _agents('name = "r1"') + '[providers.claude]\ncommand = "claude"\n', "providers.claude.command", 7),
    ("provider-env-not-strings", HEAD + _agents('name = "r1"') + "[providers.claude]\nenv = { A = 1 }\n", "providers.claude.env", 7),
    ("provider-prepare-trust-not-bool", HEAD + _agents('name = "r1"') + '[providers.codex]\nprepare_trust = "no"\n', "providers.codex.prepare_trust", 7),
    ("provider-unknown-key", HEAD + _agents('name = "r1"') + "[providers.codex]\nflags = []\n", "providers.codex.flags", 7),
    ("runs-max-concurrent-zero", HEAD + "[runs]\nmax_concurrent = 0\n" + _agents('name = "r1"'), "runs.max_concurrent", 5),
    ("runs-executor-unknown", HEAD + '[runs]\nexecutor = "k8s"\n' + _agents('name = "r1"'), "runs.executor", 5),
    ("slurm-not-a-table", HEAD + "[runs]\nslurm = 1\n" + _agents('name = "r1"'), "runs.slurm: must be a table", None),
    *[
        (case, SLURM + line + _agents('name = "r1"'), needle, 7)
        for case, line, needle in [
            ("slurm-unknown-key", "nodes = 2\n", "runs.slurm.nodes"),
            ("slurm-partition-with-space", 'partition = "gpu a100"\n', "runs.slurm.partition"),
            ("slurm-gres-with-shell", 'gres = "gpu:1;rm -rf ~"\n', "runs.slurm.gres"),
            ("slurm-mem-in-words", 'mem = "16 GB"\n', "runs.slurm.mem"),
            ("slurm-cpus-zero", "cpus = 0\n", "runs.slurm.cpus"),
            ("slurm-time-limit-seconds", 'time_limit = "30s"\n', "runs.slurm.time_limit"),
            ("slurm-time-limit-off", 'time_limit = "off"\n', "time_limit: cannot be off"),
            ("slurm-poll-too-often", 'poll = "0.1s"\n', "runs.slurm.poll"),
            ("slurm-options-a-string", 'sbatch_options = "--exclusive"\n', "runs.slurm.sbatch_options"),
            ("slurm-option-of-missionctls", 'sbatch_options = ["--output=/tmp/x"]\n', "--output is set by missionctl"),
            ("slurm-python-relative", 'python = "python3"\n', "runs.slurm.python"),
        ]
    ],
    ("notify-unknown-key", HEAD + '[notify]\nemail = "me@x"\n' + _agents('name = "r1"'), "notify.email", 5),
    ("notify-command-string", HEAD + '[notify]\ncommand = "notify-send"\n' + _agents('name = "r1"'), "notify.command", 5),
    ("notify-command-attribute", HEAD + '[notify]\ncommand = ["x", "{agent.__class__}"]\n' + _agents('name = "r1"'), "notify.command", 5),
    ("notify-command-unknown-field", HEAD + '[notify]\ncommand = ["x", "{body}"]\n' + _agents('name = "r1"'), "{body}", 5),
    ("notify-webhook-not-http", HEAD + '[notify]\nwebhook = "file:///etc/passwd"\n' + _agents('name = "r1"'), "notify.webhook", 5),
    ("notify-webhook-env-bad", HEAD + '[notify]\nwebhook_env = "MY-URL"\n' + _agents('name = "r1"'), "notify.webhook_env", 5),
    ("notify-unknown-event", HEAD + '[notify]\nevents = ["exit", "lunch"]\n' + _agents('name = "r1"'), "notify.events", 5),
    ("notify-repeat-after-bad", HEAD + '[notify]\nrepeat_after = "often"\n' + _agents('name = "r1"'), "notify.repeat_after", 5),
]  # fmt: skip


@pytest.mark.parametrize(("text", "needle", "line"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_org_is_one_line_naming_the_key(text: str, needle: str, line: int | None) -> None:
    with pytest.raises(UserError) as info:
        orgfile.loads(text, Path("org/org.toml"))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("org/org.toml")
    assert needle in message
    if line is not None:
        assert message.startswith(f"org/org.toml:{line}:"), message
    # Every message says what to do, after the problem.
    assert ";" in message


def test_shared_gpu_allows_two_agents_on_one_gpu() -> None:
    text = HEAD.replace("\n\n", "\nshared_gpu = true\n\n") + _agents(
        'name = "r1"\ngpu = 0', 'name = "r2"\ngpu = 0'
    )
    org = orgfile.loads(text)
    assert [a.gpu for a in org.agents] == [0, 0]


def test_runs_go_to_slurm_with_the_orgs_settings() -> None:
    org = orgfile.loads(
        SLURM + 'partition = "gpu,debug"\naccount = "lab"\nqos = "normal"\ntime_limit = "1h30m"\n'
        'gres = "gpu:a100:1"\ncpus = 8\nmem = "64G"\nsbatch_options = ["--exclusive"]\n'
        'python = "/shared/venv/bin/python"\npoll = "2s"\n' + _agents('name = "r1"')
    )
    assert org.executor == "slurm"
    assert org.slurm == orgfile.SlurmSettings(
        partition="gpu,debug", account="lab", qos="normal", time_limit=5400.0,
        gres="gpu:a100:1", cpus=8, mem="64G", sbatch_options=("--exclusive",),
        python="/shared/venv/bin/python", poll=2.0,
    )  # fmt: skip
    # Nothing said: runs train where the agent is, and Slurm's settings are the cluster's.
    local = orgfile.loads(HEAD + _agents('name = "r1"'))
    assert (local.executor, local.slurm) == ("local", orgfile.SlurmSettings())


def test_notify_parses_and_warns_of_a_secret_webhook_url() -> None:
    org = orgfile.loads(
        HEAD
        + '[notify]\ncommand = ["notify-send", "missionctl: {title}", "{message}"]\n'
        + 'webhook = "https://hooks.slack.com/services/T0/B0/abc"\nevents = ["exit"]\n'
        + 'repeat_after = "30s"\n'
        + _agents('name = "r1"')
    )
    assert org.notify.command == ("notify-send", "missionctl: {title}", "{message}")
    assert org.notify.events == ("exit",) and org.notify.repeat_after == 30.0
    assert org.notify.enabled
    assert any("notify.webhook" in w and "webhook_env" in w for w in org.warnings)
    plain = orgfile.loads(HEAD + _agents('name = "r1"'))
    assert not plain.notify.enabled and plain.notify.events == orgfile.NOTIFY_EVENTS
