"""`missionctl init`: make a git repository a missionctl workspace."""

from __future__ import annotations

import re
import shutil
from importlib import resources
from pathlib import Path

from missionctl import orgfile, proc
from missionctl.cliargs import parser
from missionctl.errors import UserError
from missionctl.files import write_atomic
from missionctl.workspace import ORG_DIR, RUNTIME_DIR, Workspace

# Lines missionctl keeps in .git/info/exclude (shared by every worktree).
EXCLUDES = (
    f"/{RUNTIME_DIR}/",
    # Claude Code hooks missionctl installs in each agent's worktree.
    ".claude/settings.local.json",
)


def main(argv: list[str]) -> int:
    ap = parser(
        "init", "Make a git repository a missionctl workspace: write org/ and ignore .missionctl/."
    )
    ap.add_argument("path", nargs="?", default=".", help="the repository (default: the cwd)")
    ap.add_argument(
        "--git-init",
        action="store_true",
        help="create the git repository (and its first commit) if PATH is not in one",
    )
    ap.add_argument("--name", help="the org's name (default: from the directory name)")
    args = ap.parse_args(argv)
    report = init(Path(args.path), git_init=args.git_init, name=args.name)
    print(report)
    return 0


def init(path: Path, *, git_init: bool = False, name: str | None = None) -> str:
    """Create the workspace files that are missing; return what was done, for people."""
    if name is not None and not orgfile.NAME_RE.match(name):
        raise UserError(f"--name {name!r} is not a valid org name; use {orgfile.NAME_RULE}")
    path = path.resolve()
    made_repo = False
    if not path.is_dir():
        if not git_init:
            raise UserError(f"{path} does not exist; create it, or pass --git-init to make it")
        path.mkdir(parents=True)
    top = proc.run(["git", "-C", str(path), "rev-parse", "--show-toplevel"], check=False)
    if top.returncode != 0:
        if not git_init:
            raise UserError(
                f"{path} is not inside a git repository; run `git init` there first,"
                " or `missionctl init --git-init`"
            )
        proc.run(["git", "init", "-q", "-b", "main", str(path)])
        made_repo = True
        root = path
    else:
        root = Path(top.stdout.strip()).resolve()
    if RUNTIME_DIR in root.parts:
        raise UserError(
            f"{root} is an agent's worktree inside a workspace; run `missionctl init` in the"
            " workspace itself"
        )
    ws = Workspace(root)
    runtime_new = not ws.runtime.exists()
    ws.private_dir()  # first: a runtime folder others can write is refused before any change
    branch = proc.run(
        ["git", "-C", str(root), "symbolic-ref", "--short", "-q", "HEAD"], check=False
    ).stdout.strip()
    org_name = name or _name_from(root.name)

    created: list[str] = []
    files = {
        ws.org_file: orgfile.default_org_toml(org_name, branch or "main", _gpu_count()),
        ws.org_dir / "program.md": _template("program.md"),
        ws.prompts_dir / "researcher.md": _template("prompts/researcher.md"),
        ws.prompts_dir / "chief.md": _template("prompts/chief.md"),
        # Versioned with the org: what a standup asks is org code like the role prompts.
        ws.prompts_dir / "standup.md": _template("prompts/standup.md"),
    }
    for target, text in files.items():
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, text, private=False)  # versioned: the umask decides
            created.append(str(target.relative_to(root)))
    if _ensure_excludes(root):
        created.append(".git/info/exclude (ignores .missionctl/)")
    if runtime_new:
        created.append(f"{RUNTIME_DIR}/ (private to you: mode 0700)")

    lines: list[str] = []
    if made_repo:
        proc.run(["git", "-C", str(root), "add", ORG_DIR])
        proc.run(["git", "-C", str(root), "commit", "-q", "-m", "Add the missionctl org"])
        lines.append(f"created a git repository at {root} with the org as its first commit")
    if not created:
        lines.append(f"{root} is already a missionctl workspace: nothing changed")
        return "\n".join(lines)
    lines.append(f"initialised the missionctl workspace at {root}:")
    lines += [f"  wrote {c}" for c in created]
    if not made_repo:
        lines.append(
            "next: edit org/org.toml and org/program.md, then commit them"
            " (`git add org && git commit -m 'missionctl org'`)"
        )
    return "\n".join(lines)


def _name_from(directory: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", directory.lower()).strip("-")[:24].rstrip("-")
    if not name or not name[0].isalpha():
        name = ("org-" + name)[:24].rstrip("-")
    return name if orgfile.NAME_RE.match(name) else "org"


def _gpu_count() -> int:
    """NVIDIA GPUs on this machine, asked of nvidia-smi (no torch import for this)."""
    if shutil.which("nvidia-smi") is None:
        return 0
    try:
        out = proc.run(["nvidia-smi", "-L"], timeout=10, check=False).stdout
    except UserError:
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def _template(name: str) -> str:
    return (resources.files("missionctl") / "templates" / name).read_text(encoding="utf-8")


def _ensure_excludes(root: Path) -> bool:
    """Add missionctl's lines to the repository's info/exclude; True if it changed."""
    rel = proc.run(
        ["git", "-C", str(root), "rev-parse", "--git-path", "info/exclude"]
    ).stdout.strip()
    exclude = (root / rel).resolve()
    exclude.parent.mkdir(parents=True, exist_ok=True)
    current = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
    present = {line.strip() for line in current.splitlines()}
    missing = [line for line in EXCLUDES if line not in present]
    if not missing:
        return False
    prefix = "" if not current or current.endswith("\n") else "\n"
    with exclude.open("a", encoding="utf-8") as fh:
        fh.write(prefix + "# missionctl runtime state\n" + "\n".join(missing) + "\n")
    return True
