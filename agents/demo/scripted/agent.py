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
from missionctl.errors import UserError
from missionctl.orgfile import OrgSpec
from missionctl.train.runs.reader import load_run

# Plan settings; the demo and the tests set them in org.toml's [providers.scripted] env.
ENV_PRESET = "MISSIONCTL_SCRIPTED_PRESET"
ENV_SEEDS = "MISSIONCTL_SCRIPTED_SEEDS"
ENV_BUDGET = "MISSIONCTL_SCRIPTED_BUDGET"
ENV_PACE = "MISSIONCTL_SCRIPTED_PACE"
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
    """The chief's experiment: tasks out, results in."""

    tasks: dict[str, plan.Task] = field(default_factory=dict)  # task message id -> task
    results: dict[str, plan.Result] = field(default_factory=dict)  # task message id -> result
    problems: list[str] = field(default_factory=list)
    reported: bool = False


class ScriptedAgent:
    def __init__(self, name: str, ws: workspace_mod.Workspace, org: OrgSpec) -> None:
        self.name = name
        self.ws = ws
        self.org = org
        self.spec = org.agent(name)
        self.preset = os.environ.get(ENV_PRESET, "cpu-smoke")
        self.seeds = [int(s) for s in os.environ.get(ENV_SEEDS, "1,2,3").split(",") if s.strip()]
        self.budget = os.environ.get(ENV_BUDGET) or None
        self.pace = float(os.environ.get(ENV_PACE, "0.4"))
        self.chief = next((a.name for a in org.agents if a.role == "chief"), None)
        self.book = ChiefBook()
        self.todo: list[tuple[str, str, dict[str, Any]]] = []  # (kind, reason, data)
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
            timeout=60,
            check=False,
        )

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

    # -- the work -------------------------------------------------------------------------
    def start(self) -> None:
        self.say(
            f"{BOLD}{self.name}{RESET}: scripted {self.spec.role} of org {self.org.name}"
            " (offline, deterministic). Type `help` for commands."
        )
        self.hook("working")
        self.think("Reading the research program")
        program = (self.ws.root / self.org.program).read_text(encoding="utf-8")
        self.detail("\n".join(program.splitlines()[:3]))
        if self.spec.role == "chief":
            self.design()
        elif self.chief is None:
            self.self_directed()
        else:
            self.say(f"Waiting for a task from {self.chief}.")

    def design(self) -> None:
        researchers = [a.name for a in self.org.agents if a.role == "researcher"]
        self.think("Designing the experiment")
        tasks = plan.assign(researchers, self.preset, self.seeds, self.budget)
        self.detail(
            f"baseline {plan.KNOB}=15 vs treatment {plan.KNOB}=0; preset {self.preset};"
            f" seeds {self.seeds} on both arms; budget {self.budget or 'the preset default'};"
            " plus one rerun of a baseline seed to measure noise"
        )
        for task in tasks:
            task_id = self.mail(task.to, "task", task.subject, task.body())
            if task_id:
                self.book.tasks[task_id] = task
        self.mail(
            "human",
            "note",
            "experiment plan",
            f"{len(tasks)} runs handed out: " + ", ".join(f"{t.to}: {t.subject}" for t in tasks),
        )
        self.say(f"Waiting for {len(self.book.tasks)} results.")

    def self_directed(self) -> None:
        """A flat org: run my own paired comparison on my seed, report to the human."""
        index = self.org.names.index(self.name)
        seed = self.seeds[index % len(self.seeds)]
        results = []
        for arm in (plan.BASELINE, plan.TREATMENT):
            task = plan.Task(self.name, arm, seed, self.preset, self.budget)
            done = self.train(task.argv())
            if done and done[1] == "ok" and done[2] is not None:
                results.append(plan.Result(arm, seed, done[0], done[2], self.name))
        self.mail(
            "human",
            "result",
            f"softcap on/off, seed {seed}",
            plan.summary(results),
            runs=[r.run_id for r in results],
        )

    def handle(self, message: dict[str, Any]) -> None:
        sender, kind = message.get("from", "?"), message.get("kind", "note")
        self.say(f"Mail from {sender} ({kind}): {message.get('subject', '')}")
        if kind == "standup":
            self.standup()
        elif kind == "task":
            self.do_task(message)
        elif kind == "result" and self.spec.role == "chief":
            self.take_result(message)

    def do_task(self, message: dict[str, Any]) -> None:
        argv = plan.parse_task(str(message.get("body", "")))
        if argv is None:
            refusal = (
                "I only run `python -m missionctl.train` with --preset, --seed, --set, --budget."
            )
            self.mail(message["from"], "note", "cannot run that", refusal, reply_to=message["id"])
            return
        done = self.train(argv)
        if done is None:
            subject = f"FAILED: {message.get('subject', '')}"
            why = "The trainer ended without a result line."
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
        task = self.book.tasks.get(str(message.get("reply_to")))
        if task is None:
            return
        runs = list((message.get("refs") or {}).get("runs") or [])
        problem = None
        result = None
        if not runs:
            problem = f"{message['from']}'s result for '{task.subject}' cites no run"
        else:
            try:
                info = load_run(self.ws, runs[0])
            except UserError as exc:
                problem = f"{message['from']} cites {runs[0]}: {exc}"
            else:
                knob = info.config.get(plan.KNOB)
                if info.status != "ok" or info.final_val_bpb is None:
                    problem = f"run {info.run_id} ended {info.status}"
                elif (
                    info.seed != task.seed
                    or info.preset != task.preset
                    or knob is None
                    or float(knob) != float(plan.ARM_VALUE[task.arm])
                ):
                    problem = f"run {info.run_id} is not the run asked for ({task.subject})"
                else:
                    result = plan.Result(
                        task.arm, task.seed, info.run_id, info.final_val_bpb, message["from"]
                    )
        self.book.results[str(message["reply_to"])] = result or plan.Result(
            task.arm, task.seed, runs[0] if runs else "-", float("nan"), message["from"]
        )
        if problem:
            self.book.problems.append(problem)
            self.detail(f"problem: {problem}")
        else:
            self.detail(f"checked {result.run_id if result else ''}: matches the task")
        left = len(self.book.tasks) - len(self.book.results)
        if left:
            self.say(f"{left} result{'s' if left > 1 else ''} still to come.")
        else:
            self.say("All results are in.")
        if not left and not self.book.reported:
            self.report()

    def report(self) -> None:
        self.think("Computing paired differences")
        good = [r for r in self.book.results.values() if r.val_bpb == r.val_bpb]
        budgets = {load_run(self.ws, r.run_id).budget for r in good}
        if len(budgets) > 1:  # matched compute is the point of the comparison
            self.book.problems.append(f"the runs' budgets differ: {sorted(map(str, budgets))}")
        text = plan.summary(good, self.book.problems)
        self.detail(text)
        if self.mail("human", "result", plan.VERDICT_SUBJECT, text, runs=[r.run_id for r in good]):
            self.book.reported = True
            self.say("Reported to the human. Done.", GREEN)

    def standup(self) -> None:
        if self.spec.role == "chief":
            done = f"{len(self.book.results)}/{len(self.book.tasks)} results in"
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
