"""Which shell commands an SDK agent asks a person about first (`approve = "ask"`).

A guard against accidents, not a sandbox: a command that names a path outside
the agent's worktree, or that looks destructive or reaches beyond the agent
(deleting recursively, rewriting git history, installing into the shared
environment, stopping other agents), waits for a yes. It errs on the side of
asking (a quoted "rm -rf" in a commit message is asked about too), and anything
can still be spelled so that it misses; the file tools, by contrast, are
confined for real (see `tools.inside`).
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

# (pattern, why it is asked about). First match wins.
_RISKY: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), why)
    for p, why in (
        (r"\brm\s+(-\S*[rRf]|--recursive|--force)", "deletes files recursively or by force"),
        (r"\bgit\s+(push|reset\s+--hard|clean\s+-\S*f|checkout\s+--|branch\s+-D|filter-branch"
         r"|rebase|worktree\s+remove|update-ref)", "rewrites or publishes git history"),
        (r"(^|[;&|]\s*|\s)(sudo|su|doas)\s", "runs as another user"),
        (r"\b(mkfs|fdisk|parted|shutdown|reboot|poweroff|halt)\b|\bdd\s+\S*of=",
         "can damage the machine"),
        (r"\b(pkill|killall)\b|\bkill\s+-(9|KILL)", "kills processes"),
        (r"\b(chmod|chown)\s+(-\S*R|--recursive)", "changes permissions recursively"),
        (r"\b(curl|wget)\b[^|]*\|\s*(ba|z)?sh\b", "runs a script from the network"),
        (r"\b(pip3?|uv\s+pip|npm|apt(-get)?|conda)\s+(install|uninstall|remove)\b|-m\s+pip\s+install",
         "changes the environment every agent shares"),
        (r"\bmissionctl\s+(up|down|kill|restart|pause|resume|worktrees\s+(merge|clean))\b",
         "acts on other agents or the org"),
        (r"\btmux\b", "drives a terminal multiplexer (the hub's, perhaps)"),
        (r"(^|\s)>\s*/dev/(sd|nvme|disk)", "writes to a disk device"),
    )
)  # fmt: skip
# Paths outside the worktree a command may name without asking: devices a shell
# writes to as a matter of course, and read-mostly system trees.
_ALLOWED_DEVICES = {"/dev/null", "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/tty"}
_ALLOWED_TREES = ("/usr", "/bin", "/lib", "/lib64", "/proc", "/opt")
_HOME_REFS = re.compile(r"(^|[\s=:])(~|\$HOME\b|\$\{HOME\})")
# A bare `cd` (home) or `cd -` (wherever it was before); `cd ..` and `cd /x` are
# judged by their path like any other.
_CD_OUT = re.compile(r"(^|[;&|(]\s*)(cd|pushd)(\s+-)?\s*($|[;&|)])")


def _tokens(command: str) -> list[str]:
    try:
        words = shlex.split(command, comments=True)
    except ValueError:  # an unclosed quote: still look at the words
        words = command.split()
    out = []
    for word in words:
        out.append(word)
        if "=" in word:  # --out=/x, VAR=/x
            out.append(word.split("=", 1)[1])
    return out


def _outside(token: str, worktree: Path) -> bool:
    if not (token.startswith("/") or token == ".." or token.startswith("../") or "/../" in token):
        return False
    path = Path(os.path.normpath(worktree / token))  # an absolute token replaces the base
    root = Path(os.path.normpath(worktree))
    if path == root or root in path.parents:
        return False
    text = str(path)
    if text in _ALLOWED_DEVICES:
        return False
    trees = (*_ALLOWED_TREES, sys.prefix, sys.base_prefix)
    return not any(text == t or text.startswith(t.rstrip("/") + "/") for t in trees)


def risky(command: str, worktree: Path) -> str | None:
    """Why `command` should be approved by a person first, or None."""
    for pattern, why in _RISKY:
        if pattern.search(command):
            return why
    if _HOME_REFS.search(command) or _CD_OUT.search(command):
        return "leaves the worktree"
    for token in _tokens(command):
        if _outside(token, worktree):
            return f"uses a path outside the worktree ({token})"
    return None
