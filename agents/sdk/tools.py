"""The SDK agent's tools: a shell in its worktree and file tools confined to it.

Mail and training go through the shell with the real CLIs (`missionctl mail …`,
`python -m missionctl.train …`), as for every other agent. The file tools refuse
any path that leaves the worktree: `..`, an absolute path elsewhere, or a
symbolic link that resolves outside it.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from missionctl.agents.sdk.approval import risky
from missionctl.agents.sdk.conversation import ToolCall, ToolResult

SHELL_TIMEOUT_S = 600
MAX_SHELL_TIMEOUT_S = 3600
# What a tool gives the model at most; beyond it, the head and the tail.
OUTPUT_CAP = 30_000
READ_LINES = 2000
READ_CAP = 100_000
LIST_CAP = 500
# Lines of a command's output shown live in the terminal (all of it goes to the model).
SHOW_LINES = 200
KILL_GRACE_S = 2.0


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the model sees it: a name, what it does, a JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


def _schema(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}  # fmt: skip


_PATH = {"type": "string", "description": "a path relative to your worktree"}
TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "shell",
        "Run a bash command in your worktree and get its output (stdout and stderr"
        f" together, capped at {OUTPUT_CAP} characters) and exit code. Use it for git,"
        " `missionctl mail send|inbox|read`, training (`python -m missionctl.train …`)"
        " and anything else. No input can be typed into it. Commands that leave the"
        " worktree or look destructive may wait for a person's approval.",
        _schema(
            ["command"],
            command={"type": "string", "description": "the bash command line"},
            timeout_s={"type": "integer",
                       "description": f"seconds before it is killed (default {SHELL_TIMEOUT_S},"
                                      f" at most {MAX_SHELL_TIMEOUT_S})"},
        ),
    ),
    ToolSpec(
        "read_file",
        f"Read a text file in your worktree, {READ_LINES} lines at a time.",
        _schema(["path"], path=_PATH,
                offset={"type": "integer", "description": "the first line to read, from 1"},
                limit={"type": "integer", "description": f"how many lines (default {READ_LINES})"}),
    ),
    ToolSpec(
        "write_file",
        "Write a file in your worktree (created with its folders, or replaced whole).",
        _schema(["path", "content"], path=_PATH, content={"type": "string"}),
    ),
    ToolSpec(
        "replace_in_file",
        "Replace an exact piece of text in a file in your worktree. `old` must occur"
        " exactly once unless `all` is true.",
        _schema(["path", "old", "new"], path=_PATH, old={"type": "string"},
                new={"type": "string"}, all={"type": "boolean"}),
    ),
    ToolSpec(
        "list_dir",
        "List a folder in your worktree: sub-folders end with '/', files show their size.",
        _schema([], path={"type": "string",
                          "description": "a folder relative to your worktree (default .)"}),
    ),
)  # fmt: skip


class ToolError(Exception):
    """A tool could not do what was asked; the message goes to the model."""


def inside(worktree: Path, path: Any) -> Path:
    """`path` resolved inside `worktree`, or a ToolError saying why it is refused."""
    if not isinstance(path, str) or not path.strip():
        raise ToolError("give a path relative to your worktree")
    pure = PurePath(path)
    if ".." in pure.parts:
        raise ToolError(f"{path!r} uses '..'; give a path inside your worktree ({worktree})")
    root = worktree.resolve()
    full = pure if pure.is_absolute() else root / pure
    resolved = Path(full).resolve()
    if resolved != root and root not in resolved.parents:
        lexical = Path(os.path.normpath(full))
        how = " through a symbolic link" if lexical == root or root in lexical.parents else ""
        raise ToolError(f"{path!r} leads outside your worktree{how}; stay inside {worktree}")
    return resolved


def capped(text: str, cap: int = OUTPUT_CAP) -> str:
    """`text`, or its head and tail with a note of what was left out."""
    if len(text) <= cap:
        return text
    half = cap // 2
    return (
        f"{text[:half]}\n… [output capped: {len(text)} characters in all; showing the first"
        f" {half} and the last {half}]\n{text[-half:]}"
    )


def _int(arguments: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = arguments.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ToolError(f"{key} must be a whole number")
    return max(low, min(high, int(value)))


def _text(arguments: Mapping[str, Any], key: str) -> str:
    value = arguments.get(key)
    if not isinstance(value, str):
        raise ToolError(f"{key} must be a string")
    return value


class Toolbox:
    """Runs the model's tool calls in one worktree.

    `ask` puts a yes/no question to the person (the agent shows `needs-you` while it
    waits); `show` prints a line of live output in the agent's terminal.
    """

    def __init__(
        self,
        worktree: Path,
        env: Mapping[str, str],
        *,
        approve: str = "ask",
        ask: Callable[[str], bool],
        show: Callable[[str], None],
    ) -> None:
        self.worktree = worktree
        self.env = dict(env)
        self.approve = approve
        self.ask = ask
        self.show = show

    def run(self, call: ToolCall) -> ToolResult:
        """Run one call; every failure becomes a tool error the model can read."""
        try:
            if call.raw is not None:
                raise ToolError(f"the arguments are not a JSON object: {call.raw[:200]}")
            handler = {
                "shell": self.shell,
                "read_file": self.read_file,
                "write_file": self.write_file,
                "replace_in_file": self.replace_in_file,
                "list_dir": self.list_dir,
            }.get(call.name)
            if handler is None:
                raise ToolError(f"there is no tool {call.name!r}; the tools are "
                                + ", ".join(t.name for t in TOOLS))  # fmt: skip
            return ToolResult(call.id, call.name, handler(call.arguments))
        except ToolError as exc:
            return ToolResult(call.id, call.name, f"error: {exc}", is_error=True)
        except OSError as exc:
            return ToolResult(call.id, call.name, f"error: {exc.strerror or exc}", is_error=True)

    # -- files ----------------------------------------------------------------------------
    def read_file(self, arguments: Mapping[str, Any]) -> str:
        path = inside(self.worktree, arguments.get("path"))
        if not path.is_file():
            raise ToolError(f"{arguments['path']!r} is not a file")
        offset = _int(arguments, "offset", 1, 1, 10**9)
        limit = _int(arguments, "limit", READ_LINES, 1, READ_LINES)
        with open(path, "rb") as fh:
            head = fh.read(8192)
            if b"\0" in head:
                raise ToolError(f"{arguments['path']!r} is a binary file")
            data = head + fh.read()
        lines = data.decode("utf-8", errors="replace").splitlines(keepends=True)
        chunk = "".join(lines[offset - 1 : offset - 1 + limit])
        end = min(len(lines), offset - 1 + limit)
        note = ""
        if offset > 1 or end < len(lines):
            note = f"\n[lines {offset}-{end} of {len(lines)}"
            note += f"; read on with offset={end + 1}]" if end < len(lines) else "]"
        return capped(chunk, READ_CAP) + note

    def write_file(self, arguments: Mapping[str, Any]) -> str:
        path = inside(self.worktree, arguments.get("path"))
        content = _text(arguments, "content")
        path.parent.mkdir(parents=True, exist_ok=True)
        inside(self.worktree, str(path.parent))  # made inside, and still there
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with open(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
        return f"wrote {len(content.encode())} bytes to {path.relative_to(self.worktree.resolve())}"

    def replace_in_file(self, arguments: Mapping[str, Any]) -> str:
        path = inside(self.worktree, arguments.get("path"))
        old, new = _text(arguments, "old"), _text(arguments, "new")
        if not old:
            raise ToolError("old must not be empty")
        if not path.is_file():
            raise ToolError(f"{arguments['path']!r} is not a file")
        text = path.read_text(encoding="utf-8")
        found = text.count(old)
        if found == 0:
            raise ToolError(
                "old was not found in the file; read it again and copy the text exactly"
            )
        every = arguments.get("all") is True
        if found > 1 and not every:
            raise ToolError(
                f"old occurs {found} times; give more of the text around it, or all=true"
            )
        path.write_text(text.replace(old, new), encoding="utf-8")
        return f"replaced {found if every else 1} occurrence(s) in {arguments['path']}"

    def list_dir(self, arguments: Mapping[str, Any]) -> str:
        path = inside(self.worktree, arguments.get("path") or ".")
        if not path.is_dir():
            raise ToolError(f"{arguments.get('path')!r} is not a folder")
        entries = sorted(os.scandir(path), key=lambda e: e.name)
        lines = []
        for entry in entries[:LIST_CAP]:
            if entry.is_dir(follow_symlinks=False):
                lines.append(f"{entry.name}/")
            elif entry.is_symlink():
                lines.append(f"{entry.name} -> {os.readlink(entry.path)}")
            else:
                lines.append(f"{entry.name}  {entry.stat(follow_symlinks=False).st_size}")
        if len(entries) > LIST_CAP:
            lines.append(f"[{len(entries) - LIST_CAP} more entries not shown]")
        return "\n".join(lines) or "(empty)"

    # -- the shell --------------------------------------------------------------------------
    def shell(self, arguments: Mapping[str, Any]) -> str:
        command = _text(arguments, "command")
        if not command.strip():
            raise ToolError("command is empty")
        timeout = _int(arguments, "timeout_s", SHELL_TIMEOUT_S, 1, MAX_SHELL_TIMEOUT_S)
        why = risky(command, self.worktree) if self.approve == "ask" else None
        if why is not None and not self.ask(f"Allow command? It {why}: {command}"):
            raise ToolError("the person did not allow this command; do something else, or ask"
                            " them by mail why")  # fmt: skip
        return self._run(command, timeout)

    def _run(self, command: str, timeout: int) -> str:
        # Its own session: a timeout or Ctrl-C ends the whole command, pipes and all
        # (it stays in the agent's process tree, where pause and kill reach it).
        proc = subprocess.Popen(
            ["bash", "-c", command], cwd=self.worktree, env=self.env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        assert proc.stdout is not None
        chunks: list[bytes] = []
        shown, pending = 0, b""
        deadline = time.monotonic() + timeout
        timed_out = False
        try:
            fd = proc.stdout.fileno()
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                ready, _, _ = select.select([fd], [], [], min(left, 1.0))
                if not ready:
                    continue
                data = os.read(fd, 65536)
                if not data:
                    break
                chunks.append(data)
                pending += data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    shown += 1
                    if shown <= SHOW_LINES:
                        self.show(line.decode("utf-8", "replace"))
                    elif shown == SHOW_LINES + 1:
                        self.show("… (more output: the model gets all of it)")
        except BaseException:
            _end(proc)
            raise
        finally:
            proc.stdout.close()
        if timed_out:
            _end(proc)
        if pending and shown < SHOW_LINES:
            self.show(pending.decode("utf-8", "replace"))
        try:
            code = proc.wait(timeout=KILL_GRACE_S * 2)
        except subprocess.TimeoutExpired:  # it closed its output but lives on
            _end(proc)
            code = proc.returncode
        output = capped(b"".join(chunks).decode("utf-8", "replace"))
        if timed_out:
            return f"{output}\n[killed after {timeout} s: the command timed out]"
        return f"{output}\n[exit code {code}]" if output else f"[exit code {code}, no output]"


def _end(proc: subprocess.Popen[bytes]) -> None:
    """End a command's whole process group: TERM, then KILL after a grace."""
    for sig in (signal.SIGTERM, signal.SIGCONT):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=KILL_GRACE_S)
