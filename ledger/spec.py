"""A preregistered experiment: its schema, its validation, and what its arms expect.

An experiment is written before any run, in a TOML file (`missionctl exp new
--file EXP.toml`) or with flags, and never changes once a run is attached::

    id = "softcap-off"
    question = "Can the logit softcap be removed without a regression?"
    metric = "val_bpb"          # from the runs' end events
    goal = "lower"              # or "higher"
    test = "noninferiority"     # or "superiority" (then min_effect = ...)
    margin = 0.01
    alpha = 0.05
    seeds = [1, 2, 3]
    preset = "cpu-smoke"        # or command = "python train.py --seed={seed}"
    budget = "flops=3e12"       # the trainer's --budget syntax
    [arms.baseline]
    set = { logit_softcap = 15 }
    [arms.nocap]
    set = { logit_softcap = 0 }

Optional: `knobs` (the config keys allowed to differ between arms; default:
every key an arm sets), a top-level `set` that every arm shares, `ref` on an
arm (a git ref for a code change, resolved to a commit when the experiment is
registered), and `supersedes` (the id of the experiment this one replaces).

Every error names the file and line (or the flag), the key, and the fix.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import shlex
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from missionctl.errors import UserError
from missionctl.train.commandline import COMMAND_KEY, command_config
from missionctl.train.config import MAX_SEED, SEED_KEYS, Budget, parse_value, preset

EXPERIMENT_ID_RULE = (
    "1-64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit"
)
_EXPERIMENT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}\Z")
ARM_RULE = "1-32 characters of a-z, 0-9, '_' and '-', starting with a letter"
_ARM_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}\Z")
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}\Z")
BASELINE = "baseline"
GOALS = ("lower", "higher")
TESTS = ("superiority", "noninferiority")
SEED_PLACEHOLDER = "{seed}"
EMPTY_DIFF_HASH = hashlib.sha256(b"").hexdigest()[:16]


class ArmSpec(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """One arm: the config it sets and, for a code change, the commit it runs."""

    overrides: dict[str, Any] = msgspec.field(default_factory=dict, name="set")
    ref: str | None = None
    commit: str | None = None  # `ref` resolved when the experiment is registered


class ExperimentSpec(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """A preregistered experiment: everything fixed before its first run."""

    id: str
    question: str
    metric: str = "val_bpb"
    goal: str = "lower"
    test: str
    margin: float | None = None
    min_effect: float | None = None
    alpha: float = 0.05
    seeds: list[int]
    preset: str | None = None
    command: str | None = None
    budget: str
    arms: dict[str, ArmSpec]
    knobs: list[str] | None = None
    common: dict[str, Any] = msgspec.field(default_factory=dict, name="set")
    supersedes: str | None = None

    @property
    def runner(self) -> str:
        """ "train" when the runs are the trainer's, "command" for `missionctl run` runs."""
        return "train" if self.preset is not None else "command"

    @property
    def treatments(self) -> list[str]:
        """The arms other than the baseline, in the order they were written."""
        return [name for name in self.arms if name != BASELINE]

    @property
    def declared_knobs(self) -> list[str]:
        """The only config keys allowed to differ between arms."""
        return list(self.knobs or [])

    @property
    def threshold(self) -> float:
        """The signed bound the mean paired difference (treatment - baseline) is tested against.

        Non-inferiority: a treatment may be worse by less than the margin. Superiority:
        it must be better by more than the minimum effect. "Worse" is higher for a
        metric whose goal is lower.
        """
        worse = 1.0 if self.goal == "lower" else -1.0
        if self.test == "noninferiority":
            return worse * float(self.margin or 0.0)
        return -worse * float(self.min_effect or 0.0)

    @property
    def effect(self) -> float:
        """The margin or the minimum effect: the size the experiment resolves."""
        value = self.margin if self.test == "noninferiority" else self.min_effect
        return float(value or 0.0)

    @property
    def parsed_budget(self) -> Budget:
        return Budget.parse(self.budget)

    def spec_hash(self) -> str:
        """A stable hash of the whole preregistration."""
        return hashlib.sha256(encode(self)).hexdigest()[:16]

    def expected_config(self, arm: str, seed: int) -> dict[str, Any]:
        """The config a run of `arm` with `seed` must have, key by key."""
        spec = self.arms[arm]
        if self.preset is not None:
            base = preset(self.preset).config()
            changes = {**self.common, **spec.overrides}
            return dataclasses.replace(base, **changes).to_json()
        return command_config(self.command_argv(arm, seed))

    def plan_argv(self, arm: str, seed: int) -> list[str]:
        """The exact command that runs `arm` with `seed` (without any checkout)."""
        overrides = {**self.common, **self.arms[arm].overrides}
        if self.preset is not None:
            argv = ["python", "-m", "missionctl.train", "--preset", self.preset]
            argv += ["--budget", self.budget, "--seed", str(seed)]
            for key, value in overrides.items():
                argv += ["--set", f"{key}={format_value(value)}"]
            return [*argv, "--exp", self.id, "--arm", arm]
        head = ["missionctl", "run", "--exp", self.id, "--arm", arm, "--seed", str(seed), "--"]
        return [*head, *self.command_argv(arm, seed)]

    def command_argv(self, arm: str, seed: int) -> list[str]:
        """For a command experiment: the command `arm` runs with `seed`, its sets appended."""
        overrides = {**self.common, **self.arms[arm].overrides}
        command = shlex.split((self.command or "").replace(SEED_PLACEHOLDER, str(seed)))
        return [*command, *(f"--{key}={format_value(value)}" for key, value in overrides.items())]


def encode(spec: ExperimentSpec) -> bytes:
    """The canonical JSON of `spec` (sorted keys)."""
    return msgspec.json.encode(spec, order="sorted")


def decode(data: bytes | str) -> ExperimentSpec:
    """A spec stored by `encode`."""
    return msgspec.json.decode(data, type=ExperimentSpec)


def format_value(value: Any) -> str:
    """How a config value is written on a command line (`true`, `0.01`, `relu2`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def normalise(value: Any) -> Any:
    """A config value in a form where `15`, `15.0` and `"15"` compare equal."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        try:
            return float(lowered)
        except ValueError:
            return value
    if isinstance(value, int | float):
        return float(value)
    return value


class _Where:
    """Names the place of a key in the experiment's source: a file and line, or a flag."""

    def __init__(self, path: Path | None = None, text: str = "") -> None:
        self.path = path
        self.lines = text.splitlines()

    def _line(self, keys: Sequence[str]) -> int | None:
        # Tables are `[arms.<name>]`; everything else is a top-level key.
        key: str | None
        table, key = "", keys[0]
        if keys[0] == "arms" and len(keys) > 1:
            table, key = f"arms.{keys[1]}", (keys[2] if len(keys) > 2 else None)
        current = ""
        header_line = None
        for number, raw in enumerate(self.lines, start=1):
            line = raw.split("#", 1)[0].strip()
            if line.startswith("["):
                current = line.strip("[] ").replace('"', "").replace(" ", "")
                if current == table and header_line is None:
                    header_line = number
                continue
            if current == table and key is not None and re.match(rf"{re.escape(key)}\s*=", line):
                return number
            if table and current == "" and line.startswith(f"{table}."):
                return number  # dotted keys at the top level
        return header_line

    def __call__(self, *keys: str) -> str:
        dotted = ".".join(keys)
        if self.path is None:
            return _FLAGS.get(keys[0], f"--{keys[0].replace('_', '-')}") if keys else "flags"
        line = self._line(keys) if keys else None
        return f"{self.path}:{line}: {dotted}" if line else f"{self.path}: {dotted}"


_FLAGS = {"arms": "--arm", "set": "--set", "knobs": "--knob", "min_effect": "--min-effect"}


def _fail(where: _Where, keys: tuple[str, ...], problem: str, fix: str) -> UserError:
    return UserError(f"{where(*keys)}: {problem}; {fix}")


def _reword(
    where: _Where, keys: tuple[str, ...], exc: UserError, fix: str | None = None
) -> UserError:
    """A trainer's error ("problem; fix") placed at the key it came from."""
    problem, _, own_fix = str(exc).partition("; ")
    return _fail(where, keys, problem, fix or own_fix or "fix its value")


def load_file(path: Path) -> dict[str, Any]:
    """The raw table of an experiment file; a `UserError` for a missing or invalid file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path} does not exist; write the experiment file first") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML: {exc}; fix the syntax there") from None
    data["__source__"] = (path, text)
    return data


def parse(
    raw: Mapping[str, Any], resolve_ref: Any = None, *, path: Path | None = None, text: str = ""
) -> ExperimentSpec:
    """A validated `ExperimentSpec` from a raw table (a TOML file's, or the flags').

    `resolve_ref(ref) -> commit` turns an arm's git ref into a commit (or raises
    `UserError`); refs are rejected when it is None.
    """
    data = dict(raw)
    source = data.pop("__source__", None)
    if source is not None:
        path, text = source
    where = _Where(path, text)
    try:
        spec = msgspec.convert(data, ExperimentSpec)
    except msgspec.ValidationError as exc:
        raise _schema_error(where, str(exc)) from None
    return _check(spec, where, resolve_ref)


def _schema_error(where: _Where, message: str) -> UserError:
    """msgspec's "Expected `float`, got `str` - at `$.margin`" in the file's terms."""
    text, _, at = message.partition(" - at `$")
    keys = tuple(k for k in re.split(r"[.\[\]`]+", at) if k) if at else ()
    unknown = re.match(r"Object contains unknown field `(.+)`", text)
    missing = re.match(r"Object missing required field `(.+)`", text)
    if unknown:
        name = unknown.group(1)
        keys = (*keys, name)
        valid = "id, question, metric, goal, test, margin, min_effect, alpha, seeds, preset,"
        valid += " command, budget, knobs, set, supersedes, [arms.<name>] (set, ref)"
        return _fail(where, keys, f"unknown key {name!r}", f"the valid keys are {valid}")
    if missing:
        name = missing.group(1)
        return _fail(where, (*keys, name), f"missing key {name!r}", f"add `{name} = ...`")
    found = re.match(r"Expected `(.+)`, got `(.+)`", text)
    if found:
        want = found.group(1).replace("float", "a number").replace("int", "a whole number")
        want = want.replace("str", "a string").replace("object", "a table")
        want = want.replace("array", "a list").replace(" | null", "")
        return _fail(where, keys, f"must be {want}, not {found.group(2)}", "change its value")
    return _fail(where, keys, text, "fix its value")


def _check(spec: ExperimentSpec, where: _Where, resolve_ref: Any) -> ExperimentSpec:
    if not _EXPERIMENT_ID_RE.match(spec.id):
        raise _fail(where, ("id",), f"{spec.id!r} is not a valid id", f"use {EXPERIMENT_ID_RULE}")
    if not spec.question.strip():
        raise _fail(where, ("question",), "is empty", "say what the experiment asks")
    if not _KEY_RE.match(spec.metric):
        raise _fail(where, ("metric",), f"{spec.metric!r} is not a metric name", "e.g. val_bpb")
    if spec.goal not in GOALS:
        raise _fail(where, ("goal",), f"unknown goal {spec.goal!r}", 'use "lower" or "higher"')
    if spec.test not in TESTS:
        raise _fail(
            where, ("test",), f"unknown test {spec.test!r}", 'use "superiority" or "noninferiority"'
        )
    own, other = ("margin", "min_effect") if spec.test == "noninferiority" else (
        "min_effect", "margin"
    )  # fmt: skip
    value = getattr(spec, own)
    if value is None:
        raise _fail(where, ("test",), f"a {spec.test} test needs {own}", f"add `{own} = 0.01`")
    if not math.isfinite(value) or value <= 0:
        raise _fail(where, (own,), f"must be greater than 0, not {value:g}", f"e.g. `{own} = 0.01`")
    if getattr(spec, other) is not None:
        raise _fail(
            where, (other,), f"a {spec.test} test has no {other}", f"use {own} (or drop {other})"
        )
    if not 0 < spec.alpha < 0.5 or not math.isfinite(spec.alpha):
        raise _fail(where, ("alpha",), f"{spec.alpha:g} is out of range", "e.g. `alpha = 0.05`")
    _check_seeds(spec, where)
    if (spec.preset is None) == (spec.command is None):
        raise _fail(
            where,
            ("preset",),
            "give exactly one of preset (runs of python -m missionctl.train) and command"
            " (runs of `missionctl run`)",
            'e.g. `preset = "cpu-smoke"`',
        )
    if spec.preset is not None:
        try:
            preset(spec.preset)
        except UserError as exc:
            raise _reword(where, ("preset",), exc) from None
        if spec.metric != "val_bpb":
            raise _fail(
                where,
                ("metric",),
                f"the trainer reports val_bpb, not {spec.metric!r}",
                'use metric = "val_bpb", or a command run that reports the metric',
            )
    elif not shlex.split(spec.command or ""):
        raise _fail(where, ("command",), "is empty", 'e.g. `command = "python train.py"`')
    try:
        budget = Budget.parse(spec.budget)
    except UserError as exc:
        raise _reword(where, ("budget",), exc, 'e.g. `budget = "flops=3e12"`') from None
    common = _check_overrides(spec, where, ("set",), spec.common)
    arms = _check_arms(spec, where, resolve_ref)
    knobs = _check_knobs(spec, where, arms)
    return msgspec.structs.replace(spec, budget=str(budget), common=common, arms=arms, knobs=knobs)


def _check_seeds(spec: ExperimentSpec, where: _Where) -> None:
    if len(spec.seeds) < 2:
        raise _fail(
            where,
            ("seeds",),
            f"{len(spec.seeds)} seed{'s' if len(spec.seeds) != 1 else ''} cannot measure noise",
            "declare at least 2, e.g. `seeds = [1, 2, 3]` (3 or more is better)",
        )
    if len(set(spec.seeds)) != len(spec.seeds):
        raise _fail(where, ("seeds",), "lists a seed twice", "list each seed once")
    for seed in spec.seeds:
        if not 0 <= seed <= MAX_SEED:
            raise _fail(where, ("seeds",), f"seed {seed} is out of range", "use 0 to 2**63-1")


def _check_overrides(
    spec: ExperimentSpec, where: _Where, keys: tuple[str, ...], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in SEED_KEYS:
            raise _fail(where, (*keys, key), "seeds are not config", "list them in `seeds = [...]`")
        if isinstance(value, dict | list):
            raise _fail(where, (*keys, key), "must be a single value", "e.g. `lr = 0.01`")
        if spec.preset is not None:
            try:
                checked[key] = parse_value(key, format_value(value))
            except UserError as exc:
                raise _reword(where, (*keys, key), exc) from None
        else:
            if not _KEY_RE.match(key) or key == COMMAND_KEY:
                raise _fail(
                    where, (*keys, key), f"{key!r} is not a usable key", "use letters, _ and -"
                )
            checked[key] = value
    return checked


def _check_arms(spec: ExperimentSpec, where: _Where, resolve_ref: Any) -> dict[str, ArmSpec]:
    if BASELINE not in spec.arms:
        raise _fail(
            where,
            ("arms",),
            f"there is no {BASELINE!r} arm",
            f"add `[arms.{BASELINE}]`: every treatment is compared with it",
        )
    if len(spec.arms) < 2:
        raise _fail(where, ("arms",), "there is no treatment arm", "add one, e.g. `[arms.nocap]`")
    arms: dict[str, ArmSpec] = {}
    for name, arm in spec.arms.items():
        if not _ARM_RE.match(name):
            raise _fail(
                where, ("arms", name), f"{name!r} is not a valid arm name", f"use {ARM_RULE}"
            )
        overrides = _check_overrides(spec, where, ("arms", name, "set"), arm.overrides)
        commit = None
        if arm.ref is not None:
            if resolve_ref is None:
                raise _fail(where, ("arms", name, "ref"), "refs need a git repository", "drop ref")
            commit = resolve_ref(arm.ref)
        arms[name] = ArmSpec(overrides=overrides, ref=arm.ref, commit=commit)
    return arms


def _check_knobs(spec: ExperimentSpec, where: _Where, arms: Mapping[str, ArmSpec]) -> list[str]:
    set_keys: list[str] = []
    for arm in arms.values():
        for key in arm.overrides:
            if key not in set_keys:
                set_keys.append(key)
    if spec.knobs is None:
        return set_keys
    for knob in spec.knobs:
        if spec.preset is not None:
            try:
                parse_value(knob, "0")
            except UserError as exc:
                if "unknown config key" in str(exc):
                    raise _fail(where, ("knobs",), str(exc).split(";")[0], "fix the name") from None
        elif not _KEY_RE.match(knob):
            raise _fail(where, ("knobs",), f"{knob!r} is not a usable key", "fix the name")
    for name, arm in arms.items():
        for key in arm.overrides:
            if key not in spec.knobs:
                raise _fail(
                    where,
                    ("arms", name, "set"),
                    f"sets {key!r}, which is not a declared knob",
                    f"add {key!r} to knobs, or move it to the top-level set every arm shares",
                )
    return list(spec.knobs)
