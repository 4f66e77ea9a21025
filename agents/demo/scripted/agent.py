"""The scripted agent: an interactive, deterministic, offline researcher (or chief).

It runs in an agent window like Claude Code would, and works the same way: it
reads mail and sends it with `missionctl mail`, trains with `python -m
missionctl.train`, and reports its state with `missionctl hook`. It has a prompt
that accepts typed commands, so a person can take it over. What it decides is in
`plan.py`; this module is its terminal and its tools.
"""

from __future__ import annotations

import json
import os
import select
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from missionctl import workspace as workspace_mod
from missionctl.agents.demo.scripted import plan
from missionctl.agents.supervision import SENDER as SUPERVISOR
from missionctl.errors import UserError
from missionctl.orgfile import OrgSpec

# Plan settings; the demo and the tests set them in org.toml's [providers.scripted] env.
ENV_PRESET = "MISSIONCTL_SCRIPTED_PRESET"
ENV_SEEDS = "MISSIONCTL_SCRIPTED_SEEDS"
ENV_BUDGET = "MISSIONCTL_SCRIPTED_BUDGET"
ENV_PACE = "MISSIONCTL_SCRIPTED_PACE"
# The researcher who makes the classic mistake on its own (the demo names its last one).
ENV_MISTAKE = "MISSIONCTL_SCRIPTED_MISTAKE"
# While waiting, look at the inbox this often even without a notice (as an agent
# told "wait for mail" would): notices are how it learns of mail, not the only way.
POLL_S = 15.0

BOLD, DIM, CYAN, GREEN, YELLOW, RED, RESET = (
    "\x1b[1m",
    "\x1b[2m",
    "\x1b[36m",
    "\x1b[32m",
    "\x1b[33m",
    "\x1b[31m",
    "\x1b[0m",
)
HELP = """\
commands:
  inbox           read new mail now
  status          what I am doing and what I am waiting for
  run ARGS...     a training run: python -m missionctl.train ARGS
  say TEXT        write TEXT in my log
  help            this list
  quit            exit"""


@dataclass
class ChiefBook:
    """The chief's experiment: tasks out, results in, claims the ledger answered."""

    tasks: dict[str, str] = field(default_factory=dict)  # task message id -> its command
    results: dict[str, list[str]] = field(default_factory=dict)  # task message id -> runs
    refused: list[str] = field(default_factory=list)  # the ledger's refusals, as mailed
    problems: list[str] = field(default_factory=list)
    reported: bool = False


class ScriptedAgent:
    def __init__(self, name: str, ws: workspace_mod.Workspace, org: OrgSpec) -> None:
        self.name = name
        self.ws = ws
        self.org = org
        self.spec = org.agent(name)
        self.preset = os.environ.get(ENV_PRESET, "cpu-tiny")
        self.seeds = [int(s) for s in os.environ.get(ENV_SEEDS, "").split(",") if s.strip()]
        self.budget = os.environ.get(ENV_BUDGET) or None
        self.pace = float(os.environ.get(ENV_PACE, "0.4"))
        self.chief = next((a.name for a in org.agents if a.role == "chief"), None)
        self.researchers = [a.name for a in org.agents if a.role == "researcher"]
        self.book = ChiefBook()
        self.doing = "starting"
        self.last_poll = 0.0
        self.ran: list[str] = []  # my run ids

    # -- the terminal ----------------------------------------------------------------
    def say(self, text: str, colour: str = "") -> None:
        print(f"{colour}● {RESET if colour else ''}{text}", flush=True)

    def detail(self, text: str) -> None:
        for line in text.splitlines():
            print(f"  {DIM}└ {line}{RESET}", flush=True)

    def think(self, text: str) -> None:
        print(f"{YELLOW}✻ {text}…{RESET}", flush=True)
        if self.pace:
            time.sleep(self.pace)  # pacing for people watching the demo, not synchronisation

    # -- tools: the same verbs a real agent uses ---------------------------------------
    def _missionctl(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "missionctl", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def shell(self, *args: str, show: int = 12) -> subprocess.CompletedProcess[str]:
        """`missionctl ARGS` as a tool call: shown in the terminal with its output."""
        self.say(f"Bash(missionctl {shlex.join(args)})", CYAN)
        proc = self._missionctl(*args)
        out = (proc.stdout if proc.returncode == 0 else proc.stderr).strip()
        lines = out.splitlines()
        self.detail("\n".join(lines[:show] + ([f"… {len(lines) - show} more lines"]
                                             if len(lines) > show else [])))  # fmt: skip
        return proc

    def hook(self, event: str, payload: dict[str, Any] | None = None) -> None:
        self._missionctl("hook", event, stdin=json.dumps(payload or {}))

    def mail(
        self,
        to: str,
        kind: str,
        subject: str,
        body: str,
        *,
        runs: Sequence[str] = (),
        reply_to: str | None = None,
    ) -> str | None:
        args = ["mail", "send", "--to", to, "--kind", kind, "--subject", subject]
        for run in runs:
            args += ["--run", run]
        if reply_to:
            args += ["--reply-to", reply_to]
        proc = self._missionctl(*args, "-", stdin=body)
        self.say(f"Bash(missionctl {shlex.join(args[:6])} …)", CYAN)
        if proc.returncode != 0:
            self.detail(proc.stderr.strip())
            return None
        self.detail(proc.stdout.strip() or "sent")
        return _first_id(proc.stdout)

    def read_mail(self) -> list[dict[str, Any]]:
        """Every unread message, oldest first (`missionctl mail read --next` until none)."""
        got: list[dict[str, Any]] = []
        while True:
            proc = self._missionctl("mail", "read", "--next", "--json")
            if proc.returncode != 0 or not proc.stdout.strip():
                return got
            got.append(json.loads(proc.stdout))

    def train(self, argv: list[str]) -> tuple[str, str, float | None] | None:
        """Run the trainer, showing its output; return (run id, status, val_bpb)."""
        shown = shlex.join(argv)
        self.say(f"Bash({shown})", CYAN)
        command = [sys.executable, *argv[1:]] if argv[0] == "python" else argv
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        last: tuple[str, str, float | None] | None = None
        assert proc.stdout is not None
        for line in proc.stdout:
            print(f"  {DIM}└ {line.rstrip()}{RESET}", flush=True)
            parsed = plan.parse_run_line(line)
            if parsed:
                last = parsed
        proc.wait()
        if last:
            self.ran.append(last[0])
        return last

    def program(self) -> str:
        return (self.ws.root / self.org.program).read_text(encoding="utf-8")

    def wait_for_experiment(self, timeout: float = 120.0) -> bool:
        """Until the org's experiment is registered (`missionctl exp list --json`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self._missionctl("exp", "list", "--json")
            if proc.returncode == 0 and any(
                e.get("id") == plan.EXPERIMENT for e in json.loads(proc.stdout or "[]")
            ):
                return True
            time.sleep(1.0)  # another agent registers it; nothing to wait on but the ledger
        return False

    # -- the work -------------------------------------------------------------------------
    def start(self) -> None:
        self.say(
            f"{BOLD}{self.name}{RESET}: scripted {self.spec.role} of org {self.org.name}"
            " (offline, deterministic). Type `help` for commands."
        )
        self.hook("working")
        self.think("Reading the research program")
        self.detail("\n".join(self.program().splitlines()[:3]))
        if self.spec.role == "chief":
            self.design()
        elif self.chief is None:
            self.self_directed()
        elif self.name == os.environ.get(ENV_MISTAKE):
            self.classic_mistake()
        else:
            self.say(f"Waiting for a task from {self.chief}.")

    def design(self) -> None:
        self.think("Designing the experiment")
        design = plan.design(self.program(), self.preset, self.seeds, self.budget)
        self.detail(design.why)
        self.shell(*design.exp_new()[1:])  # already registered (a reused demo): plan what is left
        commands = self.shell("exp", "plan", plan.EXPERIMENT, show=4).stdout.splitlines()
        for to, command in plan.split_plan(commands, self.researchers):
            task_id = self.mail(to, "task", plan.task_subject(command), plan.task_body(command))
            if task_id:
                self.book.tasks[task_id] = command
        self.mail(
            "human",
            "note",
            f"{plan.EXPERIMENT}: preregistered, {len(commands)} runs handed out",
            f"Experiment {plan.EXPERIMENT} is preregistered in the ledger: {design.why}.\n"
            f"Handed out {len(commands)} runs (`missionctl exp plan {plan.EXPERIMENT}`).",
        )
        if not self.book.tasks:
            self.report()
        else:
            self.say(f"Waiting for {len(self.book.tasks)} results.")

    def classic_mistake(self) -> None:
        """On its own, before any task: bigger must be better. Train it, claim it."""
        self.think("While I wait: a bigger model, trained for longer, must beat the baseline")
        budget = plan.design(self.program(), self.preset, (1, 2), self.budget).budget
        done = self.train(plan.mistake_argv(self.preset, budget))
        if done is None or done[2] is None:
            self.say("The big run gave no result; nothing to claim.", RED)
            return
        run_id, _, bpb = done
        self.say(f"val_bpb {bpb:.4f} with the bigger model: bigger is better! Claiming it.", GREEN)
        if self.wait_for_experiment():
            self.shell("claim", "--exp", plan.EXPERIMENT, "--run", run_id, plan.MISTAKE_CLAIM)
        self.say(f"Waiting for the ledger's answer and a task from {self.chief}.")

    def self_directed(self) -> None:
        """A flat org: the first researcher preregisters; each runs its share of the plan's
        cells, and claims the verdict once the ledger has decided it."""
        index = self.researchers.index(self.name) if self.name in self.researchers else 0
        design = plan.design(self.program(), self.preset, self.seeds, self.budget)
        if index == 0:
            self.detail(design.why)
            self.shell(*design.exp_new()[1:])
        elif not self.wait_for_experiment():
            self.say(f"No experiment {plan.EXPERIMENT} was registered; nothing to run.", RED)
            return
        cells = [(arm, seed) for arm in plan.ARMS for seed in design.seeds]
        mine = {c for i, c in enumerate(cells) if i % len(self.researchers) == index}
        for command in self.shell("exp", "plan", plan.EXPERIMENT, show=4).stdout.splitlines():
            argv = shlex.split(command)
            cell = (argv[argv.index("--arm") + 1], int(argv[argv.index("--seed") + 1]))
            if cell in mine:
                self.train(argv)
        verdict = self.shell("exp", "verdict", plan.EXPERIMENT, "--json", show=0)
        decision = json.loads(verdict.stdout)["decision"] if verdict.returncode == 0 else "?"
        if decision in ("non-inferior", "inferior"):
            claim = f"removing the softcap is {decision} at a {design.margin:g} margin"
            self.shell("claim", "--exp", plan.EXPERIMENT, claim)
        else:
            self.mail("human", "result", f"{plan.EXPERIMENT}: my runs are done",
                      f"My runs of {plan.EXPERIMENT} are done: {', '.join(self.ran)}; the"
                      f" experiment is {decision} (`missionctl exp verdict {plan.EXPERIMENT}`).",
                      runs=self.ran)  # fmt: skip

    def handle(self, message: dict[str, Any]) -> None:
        sender, kind = message.get("from", "?"), message.get("kind", "note")
        self.say(f"Mail from {sender} ({kind}): {message.get('subject', '')}")
        if kind == "standup":
            self.standup()
        elif kind == "task":
            self.do_task(message)
        elif sender == SUPERVISOR and kind == "result":
            self.take_answer(message)
        elif kind == "result" and self.spec.role == "chief":
            self.take_result(message)

    def take_answer(self, message: dict[str, Any]) -> None:
        """The ledger's answer to a claim (mine, or one copied to me as the chief)."""
        body = str(message.get("body", ""))
        self.detail("\n".join(body.splitlines()[:8]))
        refused = "refused" in str(message.get("subject", ""))
        if self.spec.role == "chief" and refused:
            kept = body.split("\n\nExperiment ", 1)[0].split("\n\nAn experiment that", 1)[0]
            self.book.refused.append("\n".join(f"  {ln}" for ln in kept.splitlines()))
        elif refused:
            self.say(
                "The ledger refused my claim. Accepting it: a bigger model needs its own"
                " preregistered experiment, at matched budget and enough seeds.",
                YELLOW,
            )

    def do_task(self, message: dict[str, Any]) -> None:
        argv = plan.parse_task(str(message.get("body", "")))
        if argv is None:
            refusal = (
                "I only run `python -m missionctl.train` with --preset, --seed, --set,"
                " --budget, --exp and --arm."
            )
            self.mail(message["from"], "note", "cannot run that", refusal, reply_to=message["id"])
            return
        done = self.train(argv)
        if done is None:
            subject = f"FAILED: {message.get('subject', '')}"
            why = "The trainer ended without a result line (see my terminal)."
            self.mail(message["from"], "result", subject, why, reply_to=message["id"])
            return
        run_id, status, bpb = done
        body = (
            f"run {run_id}: status {status}, final val_bpb="
            f"{f'{bpb:.4f}' if bpb is not None else 'none'}\n"
            f"command: {shlex.join(argv)}"
        )
        self.mail(
            message["from"],
            "result",
            f"{message.get('subject', '')}: {status}",
            body,
            runs=[run_id],
            reply_to=message["id"],
        )

    def take_result(self, message: dict[str, Any]) -> None:
        task_id = str(message.get("reply_to"))
        if task_id not in self.book.tasks:
            return
        runs = list((message.get("refs") or {}).get("runs") or [])
        self.book.results[task_id] = runs
        if not runs:
            self.book.problems.append(
                f"{message['from']}'s result for '{plan.task_subject(self.book.tasks[task_id])}'"
                " cites no run"
            )
        left = len(self.book.tasks) - len(self.book.results)
        if left:
            self.say(f"{left} result{'s' if left > 1 else ''} still to come.")
        elif not self.book.reported:
            self.say("All results are in.")
            self.report()

    def report(self) -> None:
        self.think("Asking the ledger for the verdict")
        text = self.shell("exp", "verdict", plan.EXPERIMENT, show=20)
        data = self.shell("exp", "verdict", plan.EXPERIMENT, "--json", show=0)
        runs = json.loads(data.stdout)["used_runs"] if data.returncode == 0 else []
        body = plan.final_report(
            text.stdout if text.returncode == 0 else text.stderr,
            runs,
            self.book.refused,
            self.book.problems,
        )
        if self.mail("human", "result", plan.VERDICT_SUBJECT, body, runs=runs):
            self.book.reported = True
            self.say("Reported the ledger's verdict to the human. Done.", GREEN)

    def standup(self) -> None:
        if self.spec.role == "chief":
            got, asked = len(self.book.results), len(self.book.tasks)
            done = f"{got}/{asked} results of {plan.EXPERIMENT} in"
        else:
            done = f"runs finished: {', '.join(self.ran) or 'none yet'}"
        body = f"done: {done}\nnext: {self.doing}\nblocked: nothing"
        self.mail("human", "standup", f"standup {self.name}", body)

    # -- the loop -----------------------------------------------------------------------------
    def check_mail(self) -> None:
        self.last_poll = time.monotonic()
        messages = self.read_mail()
        if messages:
            self.hook("working")
        for message in messages:
            self.handle(message)

    def command(self, line: str) -> bool:
        """Act on a typed line; False to quit."""
        words = line.split()
        head = words[0] if words else ""
        if "missionctl mail inbox" in line or head == "inbox":
            self.check_mail()
        elif head == "help":
            print(HELP, flush=True)
        elif head == "status":
            self.say(
                f"{self.spec.role}; doing: {self.doing}; my runs: {', '.join(self.ran) or 'none'}"
            )
        elif head == "run":
            self.train([*plan.TRAIN_PREFIX, *words[1:]])
        elif head == "say":
            self.say(line[4:])
        elif head in ("quit", "exit"):
            return False
        elif head:
            self.say(f"I don't know {head!r}; type `help`.", RED)
        return True

    def loop(self) -> int:
        self.start()
        self.check_mail()
        while True:
            self.doing = "waiting for mail"
            self.hook("idle")
            print(f"{BOLD}{self.name}>{RESET} ", end="", flush=True)
            line = self._read_line()
            if line is None:  # no input: look at the mail, as told, then wait again
                print(flush=True)
                self.check_mail()
                continue
            self.hook("UserPromptSubmit", {"prompt": line})
            self.doing = line
            if not self.command(line.strip()):
                return 0

    def _read_line(self) -> str | None:
        """A typed line, or None when POLL_S passes without one (EOF ends the agent)."""
        ready, _, _ = select.select([sys.stdin], [], [], POLL_S)
        if not ready:
            return None
        line = sys.stdin.readline()
        if line == "":
            raise SystemExit(0)
        return line.rstrip("\n")


def _first_id(text: str) -> str | None:
    """The message id in `mail send`'s "sent <id> to <names>"."""
    words = text.split()
    return words[1] if len(words) >= 3 and words[0] == "sent" and words[2] == "to" else None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m missionctl.agents.demo.scripted AGENT", file=sys.stderr)
        return 2
    try:
        ws = workspace_mod.find()
        agent = ScriptedAgent(argv[0], ws, ws.load_org())
        return agent.loop()
    except UserError as exc:
        print(f"missionctl: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
