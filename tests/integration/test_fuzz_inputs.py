"""Fuzzing what users and agents feed missionctl (issue 12, acceptance): org.toml text
and mail (command lines and message files). Whatever comes in, the CLI never shows a
traceback: it works (exit 0, or 1 for "no mail"), or it exits 2 with one line.

In-process through `missionctl.cli.main` (the same code path as the real command, at
milliseconds an example) so a few hundred examples fit well within a minute of CI.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from missionctl.orgfile import PROVIDERS
from tests.helpers import git, run_cli

FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _one_line_error(code: int, out: str, err: str) -> None:
    """The CLI's contract for a rejected input: exit 2 and one line naming the problem."""
    assert "Traceback" not in err
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("missionctl: ") and len(lines[0]) > 20, err


# -- org.toml ----------------------------------------------------------------------------

KEYS = st.sampled_from(
    ["name", "role", "provider", "gpu", "every", "command", "env", "submit_delay", "model",
     "base_url", "max_concurrent", "structure", "program", "base_branch", "shared_gpu"]
) | st.text(min_size=1, max_size=8)  # fmt: skip
SCALARS = (
    st.text(max_size=24)
    | st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.booleans()
    | st.sampled_from(
        ["r1", "r2", "lab", "human", "chief", "researcher", "claude", "shell", "scripted",
         "hierarchical", "flat", "0s", "1h", "90s", "off", "1e9d", "main", "../x", "a..b",
         "http://localhost:1/v1", "sk-proj-" + "x" * 30, "A=B", "x\x00y"]
    )
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)
TABLE = st.dictionaries(KEYS, VALUES, max_size=5)
DOCUMENT = st.fixed_dictionaries(
    {"org": st.fixed_dictionaries({"name": st.just("lab") | SCALARS}, optional={
        k: VALUES for k in ("structure", "program", "base_branch", "shared_gpu", "colour")
    })},
    optional={
        "standup": TABLE,
        "runs": TABLE,
        "agent": st.lists(
            st.fixed_dictionaries({"name": st.sampled_from(["r1", "r2", "c"]) | SCALARS},
                                  optional={k: VALUES for k in ("role", "provider", "gpu", "x")}),
            max_size=4,
        ) | VALUES,
        "providers": st.dictionaries(st.sampled_from(PROVIDERS) | st.text(max_size=6), TABLE,
                                     max_size=2) | VALUES,
    },
)  # fmt: skip


def _toml_value(value: Any) -> str:
    """`value` as TOML, inline tables and arrays only (a tiny writer: no TOML writer ships)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # TOML basic strings read JSON escapes
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def _toml(document: dict[str, Any]) -> str:
    return "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in document.items())


VALID_ORG: dict[str, Any] = {
    "org": {"name": "lab", "structure": "flat"},
    "standup": {"every": "2h"},
    "runs": {"max_concurrent": 2},
    "agent": [{"name": "r1", "provider": "shell", "gpu": 0}, {"name": "r2", "role": "researcher"}],
    "providers": {"claude": {"command": ["claude"], "env": {"A": "1"}, "submit_delay": "0.3s"}},
}
PLACES = [
    (table, key) for table in ("org", "standup", "runs", "providers") for key in
    {"org": ["name", "structure", "program", "base_branch", "shared_gpu"],
     "standup": ["every"], "runs": ["max_concurrent"],
     "providers": ["command", "env", "submit_delay", "model", "base_url"]}[table]
] + [("agent", key) for key in ("name", "role", "provider", "gpu")]  # fmt: skip


@st.composite
def mutated_orgs(draw: st.DrawFn) -> dict[str, Any]:
    """The valid org with up to three values replaced: every check sees every kind of value."""
    document = json.loads(json.dumps(VALID_ORG))
    for table, key in draw(st.lists(st.sampled_from(PLACES), max_size=3)):
        value = draw(VALUES)
        if table == "agent":
            document["agent"][draw(st.integers(0, 1))][key] = value
        elif table == "providers":
            document["providers"]["claude"][key] = value
        else:
            document[table][key] = value
    return document


# What hypothesis would not think of: values past the parser's own limits.
NASTY = [
    "big = " + "9" * 5000,
    "deep = " + "[" * 100_000 + "]" * 100_000,
    "deep = " + "{a = " * 50_000 + "1" + "}" * 50_000,
    "[x" + ".y" * 50_000 + "]",
    "huge = 1e400",
    'nul = "\\u0000"',
]
ORG_TEXT = (
    st.tuples(mutated_orgs().map(_toml), st.sampled_from(NASTY)).map("".join)
    | mutated_orgs().map(_toml)
    | mutated_orgs().map(_toml)
    | DOCUMENT.map(_toml)
    | st.text(max_size=200)
    # A valid-looking document with something spliced into it.
    | st.tuples(DOCUMENT.map(_toml), st.integers(min_value=0), st.text(max_size=20)).map(
        lambda t: t[0][: t[1] % (len(t[0]) + 1)] + t[2] + t[0][t[1] % (len(t[0]) + 1) :]
    )
)


@pytest.fixture(scope="module")
def fuzz_workspace() -> Iterator[Path]:
    """One workspace for every example (hypothesis runs many per test)."""
    root = Path(tempfile.mkdtemp(prefix="mc-fuzz-"))
    git(root, "init", "-q", "-b", "main")
    code, _, err = run_cli(["init", str(root)], cwd=root)
    assert code == 0, err
    yield root
    shutil.rmtree(root, ignore_errors=True)


@FUZZ
@given(text=ORG_TEXT)
def test_any_org_toml_works_or_is_one_line_and_exit_2(fuzz_workspace: Path, text: str) -> None:
    (fuzz_workspace / "org" / "org.toml").write_text(text, encoding="utf-8", errors="surrogatepass")
    code, out, err = run_cli(["mail", "inbox"], cwd=fuzz_workspace)
    event(f"exit {code}")
    if code != 0:
        _one_line_error(code, out, err)
        assert "org.toml" in err


# -- mail from the command line -------------------------------------------------------------

ORG = '[org]\nname = "lab"\n' + "".join(
    f'[[agent]]\nname = "{n}"\nprovider = "shell"\n' for n in ("r1", "r2")
)
NAMES = st.sampled_from(["r1", "r2", "human", "all", "researcher", "chief", "r1,r2"]) | st.text(
    max_size=12
)
# Printable text most of the time, so that the checks after the first one run too.
PLAIN = st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=40)
TEXT = (
    PLAIN
    | st.text(max_size=40)
    | st.sampled_from(["\x1b]52;c;aGk=\x07", "\u009b2J", "a\nb", " ", "\ud800"])
)


@pytest.fixture(scope="module")
def mail_workspace(fuzz_workspace: Path) -> Path:
    (fuzz_workspace / "org" / "org.toml").write_text(ORG)
    return fuzz_workspace


def _clear_mail(root: Path) -> None:
    shutil.rmtree(root / ".missionctl" / "mailbox", ignore_errors=True)


def _mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`good` three times in four: each example then gets past most checks to the next."""
    return st.one_of(good, good, good, bad)


GOOD_NAMES = st.sampled_from(["r1", "r2", "human", "all", "researcher", "r1,r2"])


@FUZZ
@given(
    sender=_mostly(st.none() | GOOD_NAMES, NAMES),
    to=_mostly(st.lists(GOOD_NAMES, min_size=1, max_size=2), st.lists(NAMES, max_size=2)),
    kind=_mostly(st.sampled_from(["note", "task", "result", "claim", "standup"]), st.text()),
    subject=_mostly(PLAIN, TEXT),
    runs=_mostly(st.just([]), st.lists(st.sampled_from(["r1-0001", "a/b:c"]) | TEXT, max_size=2)),
    reply_to=_mostly(st.none(), st.sampled_from(["01jbcdefghjkmnpqrstvwxyz01"]) | TEXT),
    body=_mostly(PLAIN.filter(str.strip), TEXT),
)
def test_any_mail_send_is_sent_or_one_line_and_exit_2(
    mail_workspace: Path,
    sender: str | None,
    to: list[str],
    kind: str,
    subject: str,
    runs: list[str],
    reply_to: str | None,
    body: str,
) -> None:
    argv = ["mail", "send", "--kind", kind, "--subject", subject]
    for name in to:
        argv += ["--to", name]
    for run in runs:
        argv += ["--run", run]
    if reply_to is not None:
        argv += ["--reply-to", reply_to]
    argv += ["--", body]
    old = os.environ.pop("MISSIONCTL_AGENT", None)
    if sender is not None and "\x00" not in sender:
        os.environ["MISSIONCTL_AGENT"] = sender
    try:
        code, out, err = run_cli(argv, cwd=mail_workspace)
    finally:
        os.environ.pop("MISSIONCTL_AGENT", None)
        if old is not None:
            os.environ["MISSIONCTL_AGENT"] = old
    event(f"exit {code}")
    if code == 0:
        assert out.startswith("sent ") and err == ""
    else:
        _one_line_error(code, out, err)
    _clear_mail(mail_workspace)


# -- mail files an agent dropped into a mailbox ---------------------------------------------

GOOD_MESSAGE = {
    "v": 1, "id": "01jbcdefghjkmnpqrstvwxyz01", "ts": "2026-01-02T03:04:05.678901Z",
    "from": "r2", "to": "r1", "kind": "note", "subject": "hi", "body": "hello",
    "refs": {"runs": [], "experiment": None}, "reply_to": None,
}  # fmt: skip
FIELD_VALUES = VALUES | TEXT | st.sampled_from(["\x1b[2J", "\u009b31m", "r1", 1e308])


@st.composite
def message_files(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    message = dict(GOOD_MESSAGE)
    message["subject"] = draw(PLAIN)
    message["body"] = draw(TEXT.filter(str.strip) | st.just("hello \x1b[2J"))
    for key in draw(st.lists(st.sampled_from([*GOOD_MESSAGE, "extra"]), max_size=2)):
        if draw(st.booleans()):
            message.pop(key, None)
        else:
            message[key] = draw(FIELD_VALUES)
    text = json.dumps(message, ensure_ascii=draw(st.booleans()))
    return text.encode("utf-8", "surrogatepass")


@FUZZ
@given(
    content=message_files(),
    name=st.just(GOOD_MESSAGE["id"]) | st.text(min_size=1, max_size=30),
)
def test_any_file_in_a_mailbox_never_breaks_reading_it(
    mail_workspace: Path, content: bytes, name: str
) -> None:
    new = mail_workspace / ".missionctl" / "mailbox" / "r1" / "new"
    new.mkdir(parents=True, exist_ok=True)
    (mail_workspace / ".missionctl" / "mailbox" / "r1" / "cur").mkdir(exist_ok=True)
    (mail_workspace / ".missionctl" / "mailbox" / "r1" / "tmp").mkdir(exist_ok=True)
    safe = name.replace("/", "_").replace("\x00", "_")
    if safe.startswith(".") or safe in ("", "."):
        safe = "x" + safe
    try:
        (new / safe).write_bytes(content)
    except OSError:
        return  # a name the filesystem refuses (too long): nothing to read
    os.environ["MISSIONCTL_AGENT"] = "r1"
    try:
        for argv in (
            ["mail", "inbox"],
            ["mail", "inbox", "--all", "--json"],
            ["mail", "read", GOOD_MESSAGE["id"]],
            ["mail", "thread", GOOD_MESSAGE["id"]],
            ["mail", "read", "--next"],
        ):
            code, out, err = run_cli(argv, cwd=mail_workspace)
            event(f"{argv[1]}{'-next' if '--next' in argv else ''}: exit {code}")
            assert not RAW_CONTROL.search(out), (argv, out)
            if code not in (0, 1):
                _one_line_error(code, out, err)
    finally:
        os.environ.pop("MISSIONCTL_AGENT", None)
        _clear_mail(mail_workspace)
