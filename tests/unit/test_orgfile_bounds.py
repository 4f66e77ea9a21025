"""org.toml values that load today and break the org later (issue 12, bug 8): each is
refused at load time in one line naming the file, line, key and the fix; and env values
that look like API keys are warned about once (bug 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from missionctl import orgfile
from missionctl.errors import UserError

HEAD = '[org]\nname = "lab"\n\n'
ONE = '[[agent]]\nname = "r1"\n'


def _provider(body: str, provider: str = "claude") -> str:
    return HEAD + ONE + f"[providers.{provider}]\n{body}\n"


# (case id, org.toml text, text the one-line error must contain, line it must name or None)
BOUNDS: list[tuple[str, str, str, int | None]] = [
    ("standup-every-0s", HEAD + '[standup]\nevery = "0s"\n' + ONE, "standup.every", 5),
    ("standup-every-1s", HEAD + '[standup]\nevery = "1s"\n' + ONE, "at least 1m", 5),
    ("standup-every-huge", HEAD + '[standup]\nevery = "99999999999999999999d"\n' + ONE, "at most 30d", 5),
    ("submit-delay-1h", _provider('submit_delay = "1h"'), "providers.claude.submit_delay", 7),
    ("submit-delay-11s", _provider('submit_delay = "11s"'), "between 0s and 10s", 7),
    ("env-name-with-equals", _provider('env = { "A=B" = "1" }'), "providers.claude.env", 7),
    ("env-name-empty", _provider('env = { "" = "1" }'), "providers.claude.env", 7),
    ("env-name-with-space", _provider('env = { "A B" = "1" }'), "providers.claude.env", 7),
    ("env-value-with-nul", _provider('env = { A = "x\\u0000y" }'), "NUL", 7),
    ("env-sets-missionctl-agent", _provider('env = { MISSIONCTL_AGENT = "human" }'), "MISSIONCTL_AGENT", 7),
    ("env-sets-cuda-devices", _provider('env = { CUDA_VISIBLE_DEVICES = "0" }'), "gpu", 7),
    ("command-with-nul", _provider('command = ["claude\\u0000"]'), "providers.claude.command", 7),
    ("model-with-newline", _provider('model = "m\\nx"'), "providers.claude.model", 7),
    ("base-url-not-http", _provider('base_url = "file:///etc/passwd"'), "providers.claude.base_url", 7),
    ("program-with-nul", HEAD.replace("\n\n", '\nprogram = "org/p\\u0000.md"\n\n') + ONE, "org.program", 3),
    ("gpu-huge", HEAD + ONE + "gpu = 100000000000000000000\n", "agent[0].gpu", 6),
    ("max-concurrent-huge", HEAD + "[runs]\nmax_concurrent = 1000000000\n" + ONE, "runs.max_concurrent", 5),
    ("too-many-agents", HEAD + "".join(f'[[agent]]\nname = "r{i}"\n' for i in range(300)), "agent", None),
    ("5000-digit-integer", HEAD + "[runs]\nmax_concurrent = " + "9" * 5000 + "\n" + ONE, "org/org.toml", None),
    ("100000-nested-tables", HEAD + ONE + "[providers.claude]\nenv = " + "{a = " * 100_000 + "1" + "}" * 100_000 + "\n", "nested", None),
    ("100000-nested-arrays", HEAD + ONE + "x = " + "[" * 100_000 + "]" * 100_000 + "\n", "nested", None),
    ("deep-dotted-table", HEAD + ONE + "[providers.claude." + ".".join(["a"] * 100_000) + "]\n", "nested", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "needle", "line"), [c[1:] for c in BOUNDS], ids=[c[0] for c in BOUNDS]
)
def test_values_that_break_the_org_later_are_refused_at_load(
    text: str, needle: str, line: int | None
) -> None:
    with pytest.raises(UserError) as info:
        orgfile.loads(text, Path("org/org.toml"))
    message = str(info.value)
    assert "\n" not in message and len(message) < 400, message
    assert message.startswith("org/org.toml")
    assert needle in message, message
    if line is not None:
        assert message.startswith(f"org/org.toml:{line}:"), message
    assert ";" in message  # the problem, then the fix


def test_the_bounds_themselves_are_accepted() -> None:
    org = orgfile.loads(
        HEAD
        + '[standup]\nevery = "1m"\n'
        + "[runs]\nmax_concurrent = 1024\n"
        + ONE
        + "gpu = 1023\n"
        + '\n[providers.claude]\nsubmit_delay = "10s"\nenv = { _A1 = "x y", b = "" }\n'
        + 'base_url = "https://example.invalid/v1"\n'
    )
    assert org.standup_every == 60.0 and org.max_concurrent_runs == 1024
    assert org.provider_settings("claude").submit_delay == 10.0
    assert org.agent("r1").gpu == 1023


def test_org_toml_that_is_not_a_plain_file_is_refused(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "org.toml"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match=r"is a FIFO; .*org\.toml"):
        orgfile.load(fifo)
    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"# " + b"x" * (2 << 20) + b"\n")
    with pytest.raises(UserError, match="over the limit"):
        orgfile.load(huge)


KEYS = [
    ("OPENAI_API_KEY", "sk-proj-" + "a1B2" * 10),
    ("ANTHROPIC_API_KEY", "sk-ant-api03-" + "Zz9_" * 12),
    ("GH", "ghp_" + "a" * 36),
    ("HF_TOKEN", "hf_" + "q" * 34),
    ("MY_SECRET", "correct-horse-battery-staple"),
]


@pytest.mark.parametrize(("name", "value"), KEYS, ids=[k[0] for k in KEYS])
def test_an_env_value_that_looks_like_a_key_is_a_warning(name: str, value: str) -> None:
    org = orgfile.loads(_provider(f'env = {{ {name} = "{value}" }}', "openai"))
    (warning,) = org.warnings
    assert name in warning and "environment" in warning
    assert value not in warning  # the warning itself must not leak the key
    assert warning.startswith("org/org.toml:7:")


@pytest.mark.parametrize(
    ("name", "value"),
    [("OPENAI_API_KEY", "EMPTY"), ("OPENAI_BASE_URL", "http://localhost:8000/v1"), ("FOO", "1")],
)
def test_ordinary_env_values_are_not_warned_about(name: str, value: str) -> None:
    assert orgfile.loads(_provider(f'env = {{ {name} = "{value}" }}', "openai")).warnings == ()
