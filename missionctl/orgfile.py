"""`org/org.toml`: the org's schema, its validation, and the default org.

Every validation error names the file, the key (with its line when it can be
found) and the fix, and is a `UserError` (exit code 2).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from missionctl.errors import UserError
from missionctl.names import NAME_RE as NAME_RE
from missionctl.names import NAME_RULE as NAME_RULE

# Names the mailbox and the hub use for themselves.
RESERVED_NAMES = frozenset({"human", "all", "supervisor", "hub"})
ROLES = ("researcher", "chief")
PROVIDERS = ("claude", "codex", "anthropic", "openai", "scripted", "shell")
STRUCTURES = ("flat", "hierarchical")

_TOP_KEYS = {"org", "standup", "agent", "providers", "runs", "metrics"}
_ORG_KEYS = {"name", "structure", "program", "base_branch", "shared_gpu"}
_STANDUP_KEYS = {"every"}
_AGENT_KEYS = {"name", "role", "provider", "gpu"}
_PROVIDER_KEYS = {"command", "env", "submit_delay", "model", "base_url"}
_RUNS_KEYS = {"max_concurrent"}
_DURATION_RE = re.compile(r"^(?:\d+(?:\.\d+)?[smhd])+\Z")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_METRIC_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}\Z")
_BRANCH_RE = re.compile(
    r"^(?!/)(?!.*//)(?!.*\.\.)(?!.*@\{)(?!.*\.lock$)[A-Za-z0-9._/-]+(?<![/.])\Z"
)


@dataclass(frozen=True)
class AgentSpec:
    """One agent of the org: its name is its branch, tmux window and mailbox."""

    name: str
    role: str = "researcher"
    provider: str = "claude"
    gpu: int | None = None


@dataclass(frozen=True)
class ProviderSettings:
    """Per-provider overrides from `[providers.<name>]`."""

    command: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    submit_delay: float | None = None
    model: str | None = None
    base_url: str | None = None


@dataclass(frozen=True)
class OrgSpec:
    """A validated `org.toml`."""

    name: str
    agents: tuple[AgentSpec, ...]
    structure: str = "flat"
    program: str = "org/program.md"
    base_branch: str = "main"
    shared_gpu: bool = False
    standup_every: float | None = 7200.0
    max_concurrent_runs: int | None = None
    providers: Mapping[str, ProviderSettings] = field(default_factory=dict)
    # `[metrics]`: metric name -> a regex whose first group is the number, read from
    # the output of runs of any command (`missionctl run`).
    metrics: Mapping[str, str] = field(default_factory=dict)
    path: Path | None = None

    def agent(self, name: str) -> AgentSpec:
        """The agent called `name`, or a `UserError` listing the valid names."""
        for spec in self.agents:
            if spec.name == name:
                return spec
        raise UserError(
            f"unknown agent {name!r}; the org's agents are: "
            + ", ".join(a.name for a in self.agents)
        )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.agents)

    def provider_settings(self, provider: str) -> ProviderSettings:
        return self.providers.get(provider, ProviderSettings())


def parse_duration(text: str) -> float | None:
    """Seconds in a duration like "90s", "30m", "2h", "1h30m"; None for "off"."""
    if text == "off":
        return None
    if not _DURATION_RE.match(text):
        raise ValueError(text)
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text))


class _Locator:
    """Finds the line of a key in the TOML source (tomllib does not report it)."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"]+)\s*\]\]?")
    _KEY = re.compile(r"^\s*\"?([A-Za-z0-9_\-]+)\"?\s*=")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def line(self, table: str, key: str | None = None, index: int | None = None) -> int | None:
        """The line of `key` in `[table]` (its `index`-th `[[table]]`), else of the header."""
        current: str | None = ""  # "" is the top level, before any header
        seen = -1
        header_line: int | None = None
        for number, raw in enumerate(self.lines, start=1):
            line = raw.split("#", 1)[0]
            header = self._HEADER.match(line)
            if header:
                name = header.group(2).replace('"', "")
                if table == "" and name == key:
                    return number  # an unknown top-level table
                current = None
                if name == table:
                    seen += 1
                    if index is None or seen == index:
                        current, header_line = table, number
                        if key is None:
                            return number
                continue
            if current == table and key is not None:
                m = self._KEY.match(line)
                if m and m.group(1) == key:
                    return number
        return header_line


class _Checker:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.where = _Locator(text)

    def fail(
        self, table: str, key: str | None, problem: str, fix: str, index: int | None = None
    ) -> UserError:
        line = self.where.line(table, key, index)
        loc = f"{self.path}:{line}" if line else str(self.path)
        if table == "agent" and index is not None:
            dotted = f"agent[{index}]" + (f".{key}" if key else "")
        else:
            dotted = ".".join(p for p in (table, key) if p)
        return UserError(f"{loc}: {dotted}: {problem}; {fix}")

    def unknown_keys(
        self, table: str, data: Mapping[str, Any], allowed: set[str], index: int | None = None
    ) -> None:
        for key in data:
            if key not in allowed:
                raise self.fail(
                    table,
                    key,
                    f"unknown key {key!r}",
                    "the valid keys are " + ", ".join(sorted(allowed)),
                    index,
                )

    def string(
        self,
        table: str,
        data: Mapping[str, Any],
        key: str,
        default: str | None = None,
        index: int | None = None,
    ) -> str:
        value = data.get(key, default)
        if value is None:
            raise self.fail(table, None, f"missing key {key!r}", f'add `{key} = "..."`', index)
        if not isinstance(value, str):
            raise self.fail(
                table, key, f"must be a string, not {type(value).__name__}", "quote it", index
            )
        return value


def load(path: Path) -> OrgSpec:
    """Read and validate the `org.toml` at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(
            f"{path} does not exist; run `missionctl init` in the workspace to create it"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
    return loads(text, path)


def loads(text: str, path: Path = Path("org/org.toml")) -> OrgSpec:
    """Validate `org.toml` text; `path` names the file in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML: {exc}; fix the syntax there") from None
    check = _Checker(path, text)
    check.unknown_keys("", data, _TOP_KEYS)

    org = data.get("org")
    if not isinstance(org, dict):
        raise check.fail(
            "org", None, "missing [org] table", 'add `[org]` with `name = "..."` at the top'
        )
    check.unknown_keys("org", org, _ORG_KEYS)
    name = check.string("org", org, "name")
    if not NAME_RE.match(name):
        raise check.fail("org", "name", f"{name!r} is not a valid org name", f"use {NAME_RULE}")
    structure = check.string("org", org, "structure", "flat")
    if structure not in STRUCTURES:
        raise check.fail(
            "org", "structure", f"unknown structure {structure!r}", 'use "flat" or "hierarchical"'
        )
    program = check.string("org", org, "program", "org/program.md")
    pure = PurePosixPath(program)
    if pure.is_absolute() or ".." in pure.parts or not program:
        raise check.fail(
            "org",
            "program",
            f"{program!r} points outside the workspace",
            'use a path inside it, like "org/program.md"',
        )
    base_branch = check.string("org", org, "base_branch", "main")
    if not _BRANCH_RE.match(base_branch):
        raise check.fail(
            "org",
            "base_branch",
            f"{base_branch!r} is not a valid git branch name",
            'use a branch that exists, like "main"',
        )
    shared_gpu = org.get("shared_gpu", False)
    if not isinstance(shared_gpu, bool):
        raise check.fail("org", "shared_gpu", "must be true or false", "write `shared_gpu = true`")

    standup = data.get("standup", {})
    if not isinstance(standup, dict):
        raise check.fail("standup", None, "must be a table", "write `[standup]` then `every = ...`")
    check.unknown_keys("standup", standup, _STANDUP_KEYS)
    every_text = check.string("standup", standup, "every", "2h")
    try:
        standup_every = parse_duration(every_text)
    except ValueError:
        raise check.fail(
            "standup",
            "every",
            f"{every_text!r} is not a duration",
            'write it like "90s", "30m", "2h", "1h30m", or "off"',
        ) from None

    runs = data.get("runs", {})
    if not isinstance(runs, dict):
        raise check.fail("runs", None, "must be a table", "write `[runs]` then its keys")
    check.unknown_keys("runs", runs, _RUNS_KEYS)
    max_concurrent = runs.get("max_concurrent")
    if max_concurrent is not None and (
        not isinstance(max_concurrent, int)
        or isinstance(max_concurrent, bool)
        or max_concurrent < 1
    ):
        raise check.fail(
            "runs",
            "max_concurrent",
            "must be a whole number of at least 1",
            "e.g. `max_concurrent = 2`",
        )

    raw_agents = data.get("agent")
    if not isinstance(raw_agents, list) or not raw_agents:
        raise check.fail(
            "agent", None, "the org has no agents", 'add `[[agent]]` tables with `name = "r1"`'
        )
    agents: list[AgentSpec] = []
    seen_names: dict[str, int] = {}
    gpus: dict[int, str] = {}
    for i, raw in enumerate(raw_agents):
        if not isinstance(raw, dict):
            raise check.fail(
                "agent",
                None,
                f"{raw!r} is not an agent table",
                'write `[[agent]]` then `name = "r1"`',
                i,
            )
        check.unknown_keys("agent", raw, _AGENT_KEYS, i)
        agent_name = check.string("agent", raw, "name", index=i)
        if agent_name in RESERVED_NAMES:
            raise check.fail(
                "agent",
                "name",
                f"{agent_name!r} is reserved for missionctl's own use",
                "pick another name",
                i,
            )
        if not NAME_RE.match(agent_name):
            raise check.fail(
                "agent", "name", f"{agent_name!r} is not a valid agent name", f"use {NAME_RULE}", i
            )
        if agent_name in seen_names:
            raise check.fail(
                "agent",
                "name",
                f"{agent_name!r} is also the name of agent[{seen_names[agent_name]}]",
                "give every agent its own name",
                i,
            )
        seen_names[agent_name] = i
        role = check.string("agent", raw, "role", "researcher", i)
        if role not in ROLES:
            raise check.fail(
                "agent", "role", f"unknown role {role!r}", "use " + " or ".join(ROLES), i
            )
        provider = check.string("agent", raw, "provider", "claude", i)
        if provider not in PROVIDERS:
            raise check.fail(
                "agent",
                "provider",
                f"unknown provider {provider!r}",
                "use one of " + ", ".join(PROVIDERS),
                i,
            )
        gpu = raw.get("gpu")
        if gpu is not None:
            if not isinstance(gpu, int) or isinstance(gpu, bool) or gpu < 0:
                raise check.fail(
                    "agent",
                    "gpu",
                    f"{gpu!r} is not a GPU index",
                    "use a whole number from 0, or leave it out for no GPU",
                    i,
                )
            if gpu in gpus and not shared_gpu:
                raise check.fail(
                    "agent",
                    "gpu",
                    f"GPU {gpu} is already given to {gpus[gpu]!r}",
                    "give each agent its own GPU, or set `shared_gpu = true` under [org]",
                    i,
                )
            gpus.setdefault(gpu, agent_name)
        agents.append(AgentSpec(name=agent_name, role=role, provider=provider, gpu=gpu))

    chiefs = [a.name for a in agents if a.role == "chief"]
    if structure == "hierarchical" and len(chiefs) != 1:
        raise check.fail(
            "org",
            "structure",
            f"a hierarchical org needs exactly one chief, and this one has {len(chiefs)}"
            + (f" ({', '.join(chiefs)})" if chiefs else ""),
            'set `role = "chief"` on exactly one agent',
        )
    if structure == "flat" and chiefs:
        raise check.fail(
            "org",
            "structure",
            f'a flat org has no chief, but {", ".join(chiefs)} has role "chief"',
            'set `structure = "hierarchical"`, or make them researchers',
        )

    providers = _providers(check, data.get("providers", {}))
    metrics = _metrics(check, data.get("metrics", {}))
    return OrgSpec(
        name=name,
        agents=tuple(agents),
        structure=structure,
        program=program,
        base_branch=base_branch,
        shared_gpu=shared_gpu,
        standup_every=standup_every,
        max_concurrent_runs=max_concurrent,
        providers=providers,
        metrics=metrics,
        path=path,
    )


def _metrics(check: _Checker, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise check.fail(
            "metrics", None, "must be a table", "write `[metrics]` then `val_bpb = '...'`"
        )
    out: dict[str, str] = {}
    for name, pattern in raw.items():
        if not _METRIC_NAME_RE.match(name):
            raise check.fail(
                "metrics", name, f"{name!r} is not a metric name", "use letters, digits and _"
            )
        if not isinstance(pattern, str):
            raise check.fail(
                "metrics",
                name,
                "must be a regular expression in a string",
                f"write it like `{name} = 'Validation bpb: ([0-9.]+)'`",
            )
        try:
            groups = re.compile(pattern).groups
        except re.error as exc:
            raise check.fail(
                "metrics",
                name,
                f"{pattern!r} is not a valid regular expression ({exc})",
                "fix it; single quotes keep backslashes as they are",
            ) from None
        if groups < 1:
            raise check.fail(
                "metrics",
                name,
                f"{pattern!r} has no group to capture the number",
                "wrap the number in parentheses, e.g. 'Validation bpb: ([0-9.]+)'",
            )
        out[name] = pattern
    return out


def _providers(check: _Checker, raw: Any) -> dict[str, ProviderSettings]:
    if not isinstance(raw, dict):
        raise check.fail("providers", None, "must be a table", "write `[providers.claude]` etc.")
    out: dict[str, ProviderSettings] = {}
    for provider, settings in raw.items():
        table = f"providers.{provider}"
        if provider not in PROVIDERS:
            raise check.fail(
                table,
                None,
                f"unknown provider {provider!r}",
                "use one of " + ", ".join(PROVIDERS),
            )
        if not isinstance(settings, dict):
            raise check.fail(table, None, "must be a table", f"write `[{table}]` then its keys")
        check.unknown_keys(table, settings, _PROVIDER_KEYS)
        command = settings.get("command")
        if command is not None and (
            not isinstance(command, list)
            or not command
            or not all(isinstance(c, str) and c for c in command)
        ):
            raise check.fail(
                table,
                "command",
                "must be a non-empty list of strings",
                f'write it like `command = ["{provider}", "--flag"]`',
            )
        env = settings.get("env", {})
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        ):
            raise check.fail(
                table, "env", "must map names to strings", 'write it like `env = { FOO = "1" }`'
            )
        delay: float | None = None
        if "submit_delay" in settings:
            delay_text = settings["submit_delay"]
            try:
                delay = parse_duration(delay_text) if isinstance(delay_text, str) else None
            except ValueError:
                delay = None
            if delay is None:
                raise check.fail(
                    table, "submit_delay", f"{delay_text!r} is not a duration", 'e.g. "0.3s"'
                )
        model = settings.get("model")
        base_url = settings.get("base_url")
        for key, value in (("model", model), ("base_url", base_url)):
            if value is not None and not isinstance(value, str):
                raise check.fail(table, key, "must be a string", "quote it")
        out[provider] = ProviderSettings(
            command=tuple(command) if command else None,
            env=dict(env),
            submit_delay=delay,
            model=model,
            base_url=base_url,
        )
    return out


def default_org_toml(name: str, base_branch: str, gpu_count: int) -> str:
    """The default org: eight researchers, four `claude` and four `codex`, flat."""
    lines = [
        "# The org: who works on the research program, with which tool and GPU.",
        "# Reference: https://github.com/missionctl/missionctl#orgtoml",
        "",
        "[org]",
        f'name = "{name}"              # branch prefix: agents work on <name>/<agent>',
        'structure = "flat"           # or "hierarchical": one chief directs the rest',
        'program = "org/program.md"   # the research question everyone works on',
        f'base_branch = "{base_branch}"        # the branch the agents fork from and merge into',
        "",
        "[standup]",
        'every = "2h"                 # scheduled standups; "off" to disable',
    ]
    for i in range(8):
        provider = "claude" if i < 4 else "codex"
        lines += ["", "[[agent]]", f'name = "r{i + 1}"', 'role = "researcher"']
        lines.append(f'provider = "{provider}"')
        if i < gpu_count:
            lines.append(f"gpu = {i}")
    return "\n".join(lines) + "\n"
