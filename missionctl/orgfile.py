"""`org/org.toml`: the org's schema, its validation, and the default org.

Every validation error names the file, the key (with its line when it can be
found) and the fix, and is a `UserError` (exit code 2).
"""

from __future__ import annotations

import re
import string
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from missionctl import modelsettings
from missionctl.errors import UserError
from missionctl.files import NotAPlainFile, read_regular
from missionctl.names import CONTROL_RE
from missionctl.names import NAME_RE as NAME_RE
from missionctl.names import NAME_RULE as NAME_RULE

# Names the mailbox and the hub use for themselves.
RESERVED_NAMES = frozenset({"human", "all", "supervisor", "hub"})
ROLES = ("researcher", "chief")
PROVIDERS = ("claude", "codex", "anthropic", "openai", "scripted", "shell")
STRUCTURES = ("flat", "hierarchical")
EXECUTORS = ("local", "slurm")

_TOP_KEYS = {"org", "standup", "agent", "providers", "runs", "metrics", "notify"}
_ORG_KEYS = {"name", "structure", "program", "base_branch", "shared_gpu"}
_STANDUP_KEYS = {"every", "wait"}
_AGENT_KEYS = {"name", "role", "provider", "gpu"} | modelsettings.AGENT_KEYS
_PROVIDER_KEYS = {"command", "env", "submit_delay", "model", "base_url", "prepare_trust"}
_PROVIDER_KEYS |= modelsettings.MODEL_KEYS
_RUNS_KEYS = {"max_concurrent", "executor", "slurm"}
_SLURM_KEYS = {
    "partition", "account", "qos", "time_limit", "gres", "cpus", "mem", "sbatch_options",
    "python", "poll",
}  # fmt: skip
# What Slurm takes as a partition, account or QOS list, a gres and a memory size.
_SLURM_NAMES_RE = re.compile(r"^[A-Za-z0-9_.-]+(?:,[A-Za-z0-9_.-]+)*\Z")
_SLURM_GRES_RE = re.compile(r"^[A-Za-z0-9_.:-]+(?:,[A-Za-z0-9_.:-]+)*\Z")
_SLURM_MEM_RE = re.compile(r"^[1-9][0-9]{0,8}[KMGT]?\Z")
# sbatch options missionctl sets itself for every job: the run's own files and tag.
SLURM_OWN_OPTIONS = (
    "--output", "--error", "--chdir", "--job-name", "--comment", "--parsable", "--wrap",
    "--array", "--export", "--requeue", "--wait",
)  # fmt: skip
MAX_SLURM_CPUS = 4096
MIN_SLURM_POLL = 1.0
MAX_SLURM_POLL = 600.0
MAX_SLURM_TIME = 365 * 86400.0
_NOTIFY_KEYS = {"command", "webhook", "webhook_env", "events", "repeat_after"}
# What `[notify]` can tell a person about (see missionctl.agents.notify).
NOTIFY_EVENTS = ("needs-you", "exit", "mail", "run-crash")
# The words a notify command's arguments may hold, filled in per notification.
NOTIFY_FIELDS = ("event", "agent", "title", "message", "org")
MIN_REPEAT_AFTER = 0.0
MAX_REPEAT_AFTER = 86400.0
_DURATION_RE = re.compile(r"^(?:\d+(?:\.\d+)?[smhd])+\Z")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# Bounds on values that load fine and break the org later: standups every 0 s flood
# every mailbox, a 1 h submit delay wedges delivery, 10**20 agents or GPUs are typos.
MIN_STANDUP_EVERY = 60.0
MAX_STANDUP_EVERY = 30 * 86400.0
# How long the supervisor waits for standup replies before it mails the digest.
MIN_STANDUP_WAIT = 5.0
MAX_STANDUP_WAIT = 86400.0
MAX_SUBMIT_DELAY = 10.0
MAX_AGENTS = 128
MAX_GPU_INDEX = 1023
MAX_RUN_SLOTS = 1024
MAX_ORG_FILE_BYTES = 1 << 20
# org.toml needs three levels ([providers.claude] env = {...}); far deeper is damage,
# and makes tomllib and everything after it recurse.
MAX_NESTING = 16
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
# Names missionctl sets for each agent after org.toml's env, so a value there is ignored.
_ENV_SET_BY_MISSIONCTL = {
    "MISSIONCTL_AGENT": ("missionctl sets it to each agent's name", "remove it from env"),
    "MISSIONCTL_WORKSPACE": ("missionctl sets it to the workspace", "remove it from env"),
    "CUDA_VISIBLE_DEVICES": (
        "missionctl sets it from each agent's `gpu`",
        "remove it from env and set `gpu = N` on the [[agent]] instead",
    ),
}
# What API keys and tokens look like: well-known prefixes, or a secret-sounding name
# with a long value that is not a URL or path.
_KEY_PREFIXES = (
    "sk-", "sk_", "ghp_", "gho_", "ghs_", "ghu_", "github_pat_", "glpat-", "xoxb-", "xoxp-",
    "hf_", "AKIA", "ASIA", "AIza", "pk_live_", "rk_live_", "npm_",
)  # fmt: skip
_SECRET_NAME_RE = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.IGNORECASE)
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
    # The model for this agent, over its provider's `model`.
    model: str | None = None
    # Spend limits: an SDK agent stops before its next turn, others show a warning.
    budget_usd: float | None = None
    budget_tokens: int | None = None


@dataclass(frozen=True)
class ProviderSettings:
    """Per-provider overrides from `[providers.<name>]`."""

    command: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    submit_delay: float | None = None
    model: str | None = None
    base_url: str | None = None
    # Pre-accept the CLI's folder trust and onboarding in the agent's own config
    # (claude, codex), so an org starts without a dialog per agent.
    prepare_trust: bool = True
    # The SDK agents' (anthropic, openai) settings; see missionctl/modelsettings.py.
    api_key_env: str | None = None  # the name of the variable holding the key, never a key
    max_tokens: int | None = None
    temperature: float | None = None
    api: str | None = None  # openai: "chat" (default) or "responses"
    context_limit: int | None = None
    approve: str = "ask"  # "ask": risky commands wait for a person; "auto"
    # Model -> USD per million tokens {input, output, cache_read, cache_write}.
    prices: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class SlurmSettings:
    """`[runs.slurm]`: how each run is submitted when `[runs] executor = "slurm"`.

    None leaves a setting to the cluster's defaults.
    """

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time_limit: float | None = None  # seconds (Slurm counts whole minutes)
    gres: str | None = None  # per run, e.g. "gpu:1"
    cpus: int | None = None  # per run (--cpus-per-task)
    mem: str | None = None  # per run, e.g. "16G"
    sbatch_options: tuple[str, ...] = ()
    python: str | None = None  # the interpreter on the node; default: the one submitting
    poll: float = 5.0  # how often a following terminal asks Slurm for the job's state


@dataclass(frozen=True)
class NotifySpec:
    """`[notify]`: where the supervisor sends notifications, and which ones."""

    # argv; each argument may hold {event} {agent} {title} {message} {org}.
    command: tuple[str, ...] | None = None
    webhook: str | None = None  # POSTed JSON
    webhook_env: str | None = None  # the webhook URL from this variable (a secret URL)
    events: tuple[str, ...] = NOTIFY_EVENTS
    repeat_after: float = 120.0  # the same event for the same agent at most this often

    @property
    def enabled(self) -> bool:
        return bool(self.command or self.webhook or self.webhook_env)


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
    standup_wait: float = 600.0
    max_concurrent_runs: int | None = None
    # Where runs train: "local" (in the agent's process tree) or "slurm" (a job each).
    executor: str = "local"
    slurm: SlurmSettings = field(default_factory=SlurmSettings)
    providers: Mapping[str, ProviderSettings] = field(default_factory=dict)
    # `[metrics]`: metric name -> a regex whose first group is the number, read from
    # the output of runs of any command (`missionctl run`).
    metrics: Mapping[str, str] = field(default_factory=dict)
    notify: NotifySpec = field(default_factory=NotifySpec)
    path: Path | None = None
    # Sentences about values that work but should not be there (an API key in env).
    warnings: tuple[str, ...] = ()

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

    def branch(self, agent: str) -> str:
        """The git branch of `agent` (which must be one of the org's): `<org>/<agent>`."""
        return f"{self.name}/{self.agent(agent).name}"

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
    """The type and unknown-key checks, by hand rather than a msgspec schema: each
    error names the file, line and key and a fix written for that key (`quote it`,
    `write shared_gpu = true`, the valid range); mapping msgspec's first error back to
    those would take a table as long as the checks, and it reports one error where a
    check can say which of several keys is wrong."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.where = _Locator(text)
        self.warnings: list[str] = []

    def _where(self, table: str, key: str | None, index: int | None) -> str:
        line = self.where.line(table, key, index)
        loc = f"{self.path}:{line}" if line else str(self.path)
        if table == "agent" and index is not None:
            dotted = f"agent[{index}]" + (f".{key}" if key else "")
        else:
            dotted = ".".join(p for p in (table, key) if p)
        return f"{loc}: {dotted}"

    def fail(
        self, table: str, key: str | None, problem: str, fix: str, index: int | None = None
    ) -> UserError:
        return UserError(f"{self._where(table, key, index)}: {problem}; {fix}")

    def warn(self, table: str, key: str, problem: str, fix: str) -> None:
        self.warnings.append(f"{self._where(table, key, None)}: {problem}; {fix}")

    def duration(
        self,
        table: str,
        data: Mapping[str, Any],
        key: str,
        default: str,
        low: float,
        high: float,
        *,
        off_ok: bool = False,
    ) -> float | None:
        """The duration at `key` ("off" is None), between `low` and `high` seconds."""
        text = self.string(table, data, key, default)
        bounds = f"between {_format_duration(low)} and {_format_duration(high)}"
        try:
            seconds = parse_duration(text)
        except ValueError:
            raise self.fail(
                table,
                key,
                f"{text[:40]!r} is not a duration",
                f'write it {bounds}, like "90s", "30m", "2h" or "1h30m"',
            ) from None
        if seconds is not None and not low <= seconds <= high:
            limit = (
                f"too short: it must be at least {_format_duration(low)}"
                if seconds < low
                else f"too long: it must be at most {_format_duration(high)}"
            )
            off = ', or "off"' if off_ok else ""
            raise self.fail(table, key, f"{text[:40]!r} is {limit}", f"pick a value {bounds}{off}")
        return seconds

    def whole_number(
        self, table: str, key: str, value: Any, low: int, high: int, index: int | None = None
    ) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            small = not isinstance(value, int) or value.bit_length() < 64
            shown = repr(value) if small else "a number that large"
            raise self.fail(
                table,
                key,
                f"{shown} is not a whole number from {low} to {high}",
                f"e.g. `{key} = {low}`",
                index,
            )
        return value

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


def _format_duration(seconds: float) -> str:
    for unit in ("d", "h", "m"):
        if seconds >= _UNIT_SECONDS[unit] and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds / _UNIT_SECONDS[unit]:g}{unit}"
    return f"{seconds:g}s"


_warned: set[str] = set()


def load(path: Path) -> OrgSpec:
    """Read and validate the `org.toml` at `path`; print its warnings on stderr, once
    per process (the app and the supervisor load it again and again)."""
    try:
        # Links followed (a user may link org.toml), but never a FIFO or a huge file.
        raw = read_regular(path, MAX_ORG_FILE_BYTES, follow_links=True)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise UserError(
            f"{path} does not exist; run `missionctl init` in the workspace to create it"
        ) from None
    except NotAPlainFile as exc:
        raise UserError(
            f"{path} is {exc.reason}; org.toml must be a text file of at most"
            f" {MAX_ORG_FILE_BYTES:,} bytes: put the org's file there"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}; make it a readable UTF-8 file") from None
    spec = loads(text, path)
    for warning in spec.warnings:
        if warning not in _warned:
            _warned.add(warning)
            print(f"missionctl: warning: {warning}", file=sys.stderr)
    return spec


def _too_deep(data: Any) -> bool:
    """Whether `data` nests more than `MAX_NESTING` levels (walked without recursion)."""
    todo: list[tuple[Any, int]] = [(data, 0)]
    while todo:
        value, depth = todo.pop()
        if depth > MAX_NESTING:
            return True
        if isinstance(value, dict):
            todo.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            todo.extend((v, depth + 1) for v in value)
    return False


def loads(text: str, path: Path = Path("org/org.toml")) -> OrgSpec:
    """Validate `org.toml` text; `path` names the file in error messages."""
    nested = UserError(
        f"{path}: tables or lists are nested more than {MAX_NESTING} deep; an org file needs"
        " three levels at most: remove the extra nesting"
    )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML: {exc}; fix the syntax there") from None
    except RecursionError:
        raise nested from None
    except ValueError:
        # tomllib's one other error: an integer past Python's 4300-digit conversion limit.
        raise UserError(
            f"{path}: a number in it has thousands of digits; no setting takes one that"
            " large: fix that value"
        ) from None
    if _too_deep(data):
        raise nested
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
    if CONTROL_RE.search(program):
        raise check.fail(
            "org",
            "program",
            "the path holds control characters",
            'use a plain path inside the workspace, like "org/program.md"',
        )
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
    # "off" is allowed too: parse_duration maps it to None.
    standup_every = check.duration(
        "standup", standup, "every", "2h", MIN_STANDUP_EVERY, MAX_STANDUP_EVERY, off_ok=True
    )
    standup_wait = check.duration(
        "standup", standup, "wait", "10m", MIN_STANDUP_WAIT, MAX_STANDUP_WAIT
    )
    if standup_wait is None:
        raise check.fail(
            "standup", "wait", "cannot be off: each standup ends with a digest", 'write "10m"'
        )

    runs = data.get("runs", {})
    if not isinstance(runs, dict):
        raise check.fail("runs", None, "must be a table", "write `[runs]` then its keys")
    check.unknown_keys("runs", runs, _RUNS_KEYS)
    max_concurrent = runs.get("max_concurrent")
    if max_concurrent is not None:
        check.whole_number("runs", "max_concurrent", max_concurrent, 1, MAX_RUN_SLOTS)
    executor = check.string("runs", runs, "executor", "local")
    if executor not in EXECUTORS:
        raise check.fail(
            "runs", "executor", f"unknown executor {executor[:40]!r}", 'use "local" or "slurm"'
        )
    slurm = _slurm(check, runs.get("slurm", {}))

    raw_agents = data.get("agent")
    if not isinstance(raw_agents, list) or not raw_agents:
        raise check.fail(
            "agent", None, "the org has no agents", 'add `[[agent]]` tables with `name = "r1"`'
        )
    if len(raw_agents) > MAX_AGENTS:
        raise check.fail(
            "agent",
            None,
            f"the org has {len(raw_agents)} agents, more than the {MAX_AGENTS} one hub can run",
            f"keep at most {MAX_AGENTS} [[agent]] tables",
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
            if not isinstance(gpu, int) or isinstance(gpu, bool) or not 0 <= gpu <= MAX_GPU_INDEX:
                small = not isinstance(gpu, int) or gpu.bit_length() < 64
                shown = repr(gpu) if small else "a number that large"
                raise check.fail(
                    "agent",
                    "gpu",
                    f"{shown} is not a GPU index",
                    f"use a whole number from 0 to {MAX_GPU_INDEX}, or leave it out for no GPU",
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
        agents.append(
            AgentSpec(
                name=agent_name, role=role, provider=provider, gpu=gpu,
                **modelsettings.agent_settings(check, raw, i),
            )
        )  # fmt: skip

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
    notify = _notify(check, data.get("notify", {}))
    return OrgSpec(
        name=name,
        agents=tuple(agents),
        structure=structure,
        program=program,
        base_branch=base_branch,
        shared_gpu=shared_gpu,
        standup_every=standup_every,
        standup_wait=standup_wait,
        max_concurrent_runs=max_concurrent,
        executor=executor,
        slurm=slurm,
        providers=providers,
        metrics=metrics,
        notify=notify,
        path=path,
        warnings=tuple(check.warnings),
    )


def _slurm(check: _Checker, raw: Any) -> SlurmSettings:
    """`[runs.slurm]`, checked so that a typo fails here, not in sbatch minutes later."""
    table = "runs.slurm"
    if not isinstance(raw, dict):
        raise check.fail(table, None, "must be a table", f"write `[{table}]` then its keys")
    check.unknown_keys(table, raw, _SLURM_KEYS)

    def text(key: str, pattern: re.Pattern[str], what: str, example: str) -> str | None:
        if key not in raw:
            return None
        value = check.string(table, raw, key)
        if not pattern.match(value):
            raise check.fail(
                table,
                key,
                f"{value[:40]!r} is not {what}",
                f'write it like `{key} = "{example}"`',
            )
        return value

    time_limit = None
    if "time_limit" in raw:
        time_limit = check.duration(table, raw, "time_limit", "1h", 60.0, MAX_SLURM_TIME)
        if time_limit is None:
            raise check.fail(
                table, "time_limit", "cannot be off", "leave it out for the partition's default"
            )
    cpus = raw.get("cpus")
    if cpus is not None:
        check.whole_number(table, "cpus", cpus, 1, MAX_SLURM_CPUS)
    options = raw.get("sbatch_options", [])
    if not isinstance(options, list) or not all(
        isinstance(o, str) and o.startswith("-") and not CONTROL_RE.search(o) for o in options
    ):
        raise check.fail(
            table,
            "sbatch_options",
            "must be a list of sbatch options, each starting with '-'",
            'write it like `sbatch_options = ["--constraint=a100", "--exclusive"]`',
        )
    for option in options:
        name = option.split("=", 1)[0]
        if name in SLURM_OWN_OPTIONS:
            raise check.fail(
                table,
                "sbatch_options",
                f"{name} is set by missionctl for every job (the run's files, name and tag)",
                "remove it",
            )
    python = raw.get("python")
    if python is not None and (
        not isinstance(python, str) or not python.startswith("/") or CONTROL_RE.search(python)
    ):
        raise check.fail(
            table,
            "python",
            "must be the absolute path of a Python on the compute nodes",
            'write it like `python = "/shared/venvs/lab/bin/python"`',
        )
    poll = check.duration(table, raw, "poll", "5s", MIN_SLURM_POLL, MAX_SLURM_POLL)
    if poll is None:
        raise check.fail(table, "poll", "cannot be off", 'e.g. `poll = "5s"`')
    return SlurmSettings(
        partition=text("partition", _SLURM_NAMES_RE, "a partition name (or a list: a,b)", "gpu"),
        account=text("account", _SLURM_NAMES_RE, "an account name", "my-lab"),
        qos=text("qos", _SLURM_NAMES_RE, "a QOS name", "normal"),
        time_limit=time_limit,
        gres=text("gres", _SLURM_GRES_RE, "a generic resource like gpu:1", "gpu:1"),
        cpus=cpus,
        mem=text("mem", _SLURM_MEM_RE, "a memory size (a number, then K, M, G or T)", "16G"),
        sbatch_options=tuple(options),
        python=python,
        poll=poll,
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


def _notify(check: _Checker, raw: Any) -> NotifySpec:
    if not isinstance(raw, dict):
        raise check.fail("notify", None, "must be a table", "write `[notify]` then its keys")
    check.unknown_keys("notify", raw, _NOTIFY_KEYS)
    command = raw.get("command")
    if command is not None:
        if (
            not isinstance(command, list)
            or not command
            or not all(isinstance(c, str) and c and "\0" not in c for c in command)
        ):
            raise check.fail(
                "notify",
                "command",
                "must be a non-empty list of strings without NUL characters",
                'write it like `command = ["notify-send", "missionctl: {title}", "{message}"]`',
            )
        for arg in command:
            problem = placeholder_problem(arg)
            if problem is not None:
                raise check.fail(
                    "notify",
                    "command",
                    f"{arg[:40]!r}: {problem}",
                    "use only "
                    + ", ".join("{" + f + "}" for f in NOTIFY_FIELDS)
                    + ", and write a literal brace twice: {{ }}",
                )
    webhook = raw.get("webhook")
    if webhook is not None and (
        not isinstance(webhook, str) or not re.match(r"^https?://[^\s\x00-\x1f]+\Z", webhook)
    ):
        raise check.fail(
            "notify",
            "webhook",
            "is not an http(s) URL",
            'write it like "https://hooks.example.com/missionctl"',
        )
    if webhook is not None and _looks_like_secret_url(webhook):
        check.warn(
            "notify",
            "webhook",
            "the URL looks like it holds a secret, and org/org.toml is meant to be committed",
            'put it in an environment variable and name that: `webhook_env = "MY_HOOK_URL"`',
        )
    webhook_env = raw.get("webhook_env")
    if webhook_env is not None and (
        not isinstance(webhook_env, str) or not ENV_NAME_RE.match(webhook_env)
    ):
        raise check.fail(
            "notify",
            "webhook_env",
            "is not an environment variable name",
            'write it like `webhook_env = "MISSIONCTL_WEBHOOK"`',
        )
    events = raw.get("events", list(NOTIFY_EVENTS))
    if (
        not isinstance(events, list)
        or not events
        or not all(isinstance(e, str) and e in NOTIFY_EVENTS for e in events)
    ):
        raise check.fail(
            "notify",
            "events",
            "must be a list of event names",
            "choose from " + ", ".join(f'"{e}"' for e in NOTIFY_EVENTS),
        )
    repeat_after = check.duration(
        "notify", raw, "repeat_after", "2m", MIN_REPEAT_AFTER, MAX_REPEAT_AFTER
    )
    if repeat_after is None:
        raise check.fail("notify", "repeat_after", "cannot be off", 'e.g. "2m"')
    return NotifySpec(
        command=tuple(command) if command else None,
        webhook=webhook,
        webhook_env=webhook_env,
        events=tuple(dict.fromkeys(events)),
        repeat_after=repeat_after,
    )


def placeholder_problem(template: str) -> str | None:
    """Why `template` is not a notify argument (a brace out of place, a name that is
    not one of NOTIFY_FIELDS, an attribute, index or format spec); None if it is."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return str(exc)
    for _, name, spec, conversion in parts:
        if name is not None and (name not in NOTIFY_FIELDS or spec or conversion):
            return f"{{{name}}} is not a field it can hold"
    return None


def _looks_like_secret_url(url: str) -> bool:
    """A webhook URL with a token in it (Slack's, Discord's, a `?token=`)."""
    return bool(
        re.search(
            r"(?i)[?&](token|key|secret|sig|signature)=|hooks\.slack\.com|/api/webhooks/", url
        )
    )


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
            or not all(isinstance(c, str) and c and "\0" not in c for c in command)
        ):
            raise check.fail(
                table,
                "command",
                "must be a non-empty list of strings without NUL characters",
                f'write it like `command = ["{provider}", "--flag"]`',
            )
        env = settings.get("env", {})
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        ):
            raise check.fail(
                table, "env", "must map names to strings", 'write it like `env = { FOO = "1" }`'
            )
        _check_env(check, table, env)
        delay: float | None = None
        if "submit_delay" in settings:
            if not isinstance(settings["submit_delay"], str):
                raise check.fail(table, "submit_delay", "must be a duration", 'e.g. "0.3s"')
            delay = check.duration(table, settings, "submit_delay", "0s", 0.0, MAX_SUBMIT_DELAY)
            if delay is None:
                raise check.fail(table, "submit_delay", "cannot be off", 'e.g. "0.3s"')
        model = settings.get("model")
        base_url = settings.get("base_url")
        for key, value in (("model", model), ("base_url", base_url)):
            if value is not None and (not isinstance(value, str) or CONTROL_RE.search(value)):
                raise check.fail(
                    table, key, "must be one line of text without control characters", "quote it"
                )
        if base_url is not None and not re.match(r"^https?://\S+\Z", base_url):
            raise check.fail(
                table,
                "base_url",
                f"{base_url[:60]!r} is not an http(s) URL",
                'write it like "http://localhost:8000/v1"',
            )
        prepare_trust = settings.get("prepare_trust", True)
        if not isinstance(prepare_trust, bool):
            raise check.fail(table, "prepare_trust", "must be true or false", "write it unquoted")
        out[provider] = ProviderSettings(
            command=tuple(command) if command else None,
            env=dict(env),
            submit_delay=delay,
            model=model,
            base_url=base_url,
            prepare_trust=prepare_trust,
            **modelsettings.provider_settings(check, table, provider, settings),
        )
    return out


def _check_env(check: _Checker, table: str, env: Mapping[str, str]) -> None:
    """Names a process environment can hold, values without NUL; warn about keys."""
    for name, value in env.items():
        if not ENV_NAME_RE.match(name):
            raise check.fail(
                table,
                "env",
                f"{name[:40]!r} is not an environment variable name",
                "use letters, digits and '_', not starting with a digit",
            )
        if "\0" in value:
            raise check.fail(
                table,
                "env",
                f"the value of {name} holds a NUL character, which no environment can carry",
                "remove it",
            )
        if name in _ENV_SET_BY_MISSIONCTL:
            why, fix = _ENV_SET_BY_MISSIONCTL[name]
            raise check.fail(table, "env", f"{name} cannot be set here: {why}", fix)
        if _looks_like_key(name, value):
            check.warn(
                table,
                "env",
                f"{name} looks like an API key or token, and org/org.toml is meant to be committed",
                f"remove it and `export {name}=...` in the shell that starts the org"
                " (agents inherit that environment)",
            )


def _looks_like_key(name: str, value: str) -> bool:
    if any(c.isspace() for c in value) or "://" in value or value.startswith("/"):
        return False
    if value.startswith(_KEY_PREFIXES) and len(value) >= 20:
        return True
    return bool(_SECRET_NAME_RE.search(name)) and len(value) >= 16


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
        'wait = "10m"                 # then the digest of the replies comes to you',
    ]
    for i in range(8):
        provider = "claude" if i < 4 else "codex"
        lines += ["", "[[agent]]", f'name = "r{i + 1}"', 'role = "researcher"']
        lines.append(f'provider = "{provider}"')
        if i < gpu_count:
            lines.append(f"gpu = {i}")
    return "\n".join(lines) + "\n"
