"""The offline demo org: a small research repository and a hierarchical org of
scripted agents that answer the softcap question with real training runs.

No API key, no network, no GPU. The chief preregisters the softcap experiment in
the ledger and hands out its plan; researchers train in their own worktrees
behind a run-slot limit set from the core count; one of them makes the classic
mistake (a bigger model on twice the budget, one seed, then a claim) and the
ledger refuses it; the chief mails the human the ledger's verdict.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from missionctl import proc
from missionctl.agents.demo.scripted.plan import VERDICT_SUBJECT
from missionctl.errors import UserError
from missionctl.mailbox import HUMAN, Mailbox, Message
from missionctl.workspace import Workspace
from missionctl.workspace_cli import init

# Written into the demo's org.toml: a demo workspace can be reused, nothing else can.
MARKER = "# missionctl demo org"

README = """\
# softcap-lab

A tiny research repository made by `missionctl demo`. The question, in
`org/program.md`: can the GPT's logit softcap be removed without a regression?

- `train.py` trains the nanochat-style GPT from `missionctl.train` (byte-level,
  on the Shakespeare plays); every run is recorded under `.missionctl/runs/`.
- `org/org.toml` is the org: one chief and seven scripted researchers.

Watch it with `missionctl`; stop it with `missionctl down`.
"""

TRAIN_PY = '''\
"""Train the GPT: `python train.py --preset cpu-smoke --seed 1 --set logit_softcap=0`."""

import sys

from missionctl.train.cli import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
'''

GITIGNORE = "__pycache__/\n/runs/\n"


def org_toml(
    researchers: int, preset: str, seeds: str | None, max_runs: int, executor: str = "local"
) -> str:
    lines = [
        MARKER,
        "[org]",
        'name = "softcap"',
        'structure = "hierarchical"',
        'program = "org/program.md"',
        'base_branch = "main"',
        "",
        "[standup]",
        'every = "30m"',
        "",
        "[runs]",
        f"max_concurrent = {max_runs}  # a run per core: agents queue, the machine never thrashes",
    ]
    if executor == "slurm":
        lines += [
            'executor = "slurm"            # every run a job on the Slurm cluster; Slurm queues',
            "",
            "[runs.slurm]",
            "cpus = 1                      # per run",
            'poll = "1s"                   # a one-node cluster of our own: ask it often',
        ]
    lines += [
        "",
        "[[agent]]",
        'name = "chief"',
        'role = "chief"',
        'provider = "scripted"',
    ]
    for i in range(1, researchers + 1):
        lines += ["", "[[agent]]", f'name = "r{i}"', 'role = "researcher"', 'provider = "scripted"']
    # No seeds: the chief sizes them from the noise table in org/program.md.
    given = f', MISSIONCTL_SCRIPTED_SEEDS = "{seeds}"' if seeds else ""
    # The last researcher makes the classic mistake on its own (see scripted/plan.py).
    mistake = f', MISSIONCTL_SCRIPTED_MISTAKE = "r{researchers}"' if researchers > 1 else ""
    lines += [
        "",
        "[providers.scripted]",
        f'env = {{ MISSIONCTL_SCRIPTED_PRESET = "{preset}"{given}{mistake} }}',
    ]
    return "\n".join(lines) + "\n"


def make_workspace(
    path: Path,
    *,
    researchers: int = 7,
    preset: str = "cpu-tiny",
    seeds: str | None = None,
    executor: str = "local",
) -> tuple[Workspace, bool]:
    """Create (or find) the demo workspace at `path`; True if it was made now.

    `executor = "slurm"` sends its runs to the Slurm cluster this machine is on.
    """
    path = path.resolve()
    org_file = path / "org" / "org.toml"
    if org_file.is_file():
        if org_file.read_text(encoding="utf-8").startswith(MARKER):
            ws = Workspace(path)
            if ws.load_org().executor != executor:
                raise UserError(
                    f"the demo at {path} runs its runs with executor"
                    f" {ws.load_org().executor!r}, not {executor!r}; give another PATH"
                )
            return ws, False
        raise UserError(f"{path} is a missionctl workspace but not a demo one; pick another PATH")
    if path.exists() and not path.is_dir():
        raise UserError(f"{path} is a file; give `missionctl demo` a new folder")
    if path.exists() and any(path.iterdir()):
        raise UserError(f"{path} exists and is not empty; give `missionctl demo` a new PATH")
    if not 1 <= researchers <= 16:
        raise UserError("--researchers must be between 1 and 16")
    path.mkdir(parents=True, exist_ok=True)
    proc.run(["git", "init", "-q", "-b", "main", str(path)])
    (path / "README.md").write_text(README, encoding="utf-8")
    (path / "train.py").write_text(TRAIN_PY, encoding="utf-8")
    (path / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    init(path)
    max_runs = max(1, os.cpu_count() or 1)
    org_file.write_text(org_toml(researchers, preset, seeds, max_runs, executor), encoding="utf-8")
    env = {**os.environ}
    if proc.run(["git", "-C", str(path), "config", "user.email"], check=False).returncode != 0:
        # No git identity on this machine: sign the demo's commit as the demo.
        for role in ("AUTHOR", "COMMITTER"):
            env.setdefault(f"GIT_{role}_NAME", "missionctl demo")
            env.setdefault(f"GIT_{role}_EMAIL", "demo@missionctl.invalid")
    proc.run(["git", "-C", str(path), "add", "-A"], env=env)
    proc.run(["git", "-C", str(path), "commit", "-q", "-m", "softcap-lab: the demo research repo"],
             env=env)  # fmt: skip
    return Workspace(path), True


def verdict(ws: Workspace) -> Message | None:
    """The chief's summary in the human's mailbox, read or not."""
    box = Mailbox(ws.mailbox_dir, [HUMAN])
    for envelope in box.envelopes(HUMAN, include_read=True):
        message = envelope.message
        if message.kind == "result" and message.subject == VERDICT_SUBJECT:
            return message
    return None


def wait_for_verdict(ws: Workspace, timeout: float) -> Message:
    """Block until the chief's summary arrives; a `UserError` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = verdict(ws)
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise UserError(
                f"no verdict from the chief within {timeout:g} s; look at the org with"
                f" `missionctl status` in {ws.root}"
            )
        time.sleep(1.0)
