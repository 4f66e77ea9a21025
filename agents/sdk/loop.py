"""The SDK agent: a conversation with a model, tools in the worktree, a prompt between turns.

A turn: the typed line (or the first message) goes to the model; its answer
streams to the terminal; the tools it calls run and their results go back, until
it answers without calling a tool. Then the prompt. Its state goes through
`missionctl hook`, as every agent's does: working at the start of a turn and on
each tool call, idle at the prompt, needs-you on a question, on an error only a
person can fix (a bad key, an unknown model) and on a spent budget; each typed
line is reported with its text (UserPromptSubmit), which confirms mail notices.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from missionctl.agents.sdk.client import Answer, ModelClient, ModelError, retry_delay
from missionctl.agents.sdk.config import SdkConfig
from missionctl.agents.sdk.context import SUMMARY_SYSTEM, ContextKeeper
from missionctl.agents.sdk.conversation import (
    AssistantTurn,
    Item,
    ToolCall,
    ToolResult,
    UserText,
    item_chars,
)
from missionctl.agents.sdk.terminal import CYAN, Terminal
from missionctl.agents.sdk.tools import TOOLS, Toolbox
from missionctl.errors import UserError
from missionctl.ledger.spend import (
    SpendReader,
    Tokens,
    UsageLog,
    budget_warning,
    usage_log_path,
)
from missionctl.units import si

# Tries of one request while the API says "later" (429, 5xx, timeouts): about 5 min.
MAX_ATTEMPTS = 8
SUMMARY_ATTEMPTS = 3
HELP = """\
Type a message for the model, or:
  /usage   tokens and cost so far
  /help    this list
  /quit    exit (Ctrl-D too)"""

SYSTEM = """\
You are {agent}, a {role} in a research org, working as a coding agent in a terminal.
Your worktree, a git checkout of your own branch, is {worktree}. The shell tool starts \
there and the file tools work only inside it.
Use the shell tool for git, for mail (`missionctl mail inbox`, `missionctl mail read --next`, \
`missionctl mail send --to NAME --subject SUBJECT "BODY"`) and for training \
(`python -m missionctl.train ...`). Lines that arrive between your turns are typed by a \
person, or are notices of new mail from missionctl.
Work in small, checked steps. When what was asked is done, say so in a sentence and stop."""


class Hooks(Protocol):
    def report(self, event: str, payload: Mapping[str, object] | None = None) -> None: ...


class SdkAgent:
    """One SDK agent: its conversation, its tools and its terminal."""

    def __init__(
        self,
        config: SdkConfig,
        client: ModelClient,
        *,
        worktree: Path,
        runtime: Path,
        environ: Mapping[str, str],
        first_message: str,
        terminal: Terminal,
        hooks: Hooks,
        reload: Callable[[], SdkConfig] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.client = client
        self.secret = config.api_key(environ)
        self.system = SYSTEM.format(agent=config.agent, role=config.role, worktree=worktree)
        self.first_message = first_message
        self.terminal = terminal
        self.hooks = hooks
        self.reload = reload
        self.sleep = sleep
        self.items: list[Item] = []
        self.toolbox = Toolbox(
            worktree, config.tool_env(environ), approve=config.approve,
            ask=self._ask, show=terminal.detail,
        )  # fmt: skip
        overhead = len(self.system) + sum(
            len(str(t.parameters)) + len(t.description) for t in TOOLS
        )
        self.context = ContextKeeper(config.context_limit, overhead)
        self.usage = UsageLog(usage_log_path(runtime, config.agent))
        self.spend = SpendReader(runtime, config.agent, config.provider)
        # Why the agent waits for a person (an error, a budget); None when it does not.
        self.blocked: str | None = None

    # -- the session -------------------------------------------------------------------------
    def run(self) -> int:
        """The first turn, then the prompt until the input ends or /quit; the exit code."""
        where = self.config.base_url or "the provider's own endpoint"
        self.terminal.say(
            f"{self.config.agent}: {self.config.provider} agent, {self.config.model} over the"
            f" {self.config.api_name} at {where}. Type /help for commands."
        )
        self.turn(self.first_message)
        while True:
            if self.blocked is None:
                self.hooks.report("idle")
            try:
                line = self.terminal.prompt(self.config.agent)
            except KeyboardInterrupt:
                self.terminal.note("Ctrl-D or /quit exits")
                continue
            if line is None:
                return 0
            self.hooks.report("UserPromptSubmit", {"prompt": line})
            command = line.strip()
            if command in ("/quit", "/exit"):
                return 0
            if command not in ("", "/usage", "/help"):
                self.turn(line)
                continue
            if command == "/usage":
                self.show_usage()
            elif command == "/help":
                self.terminal.detail(HELP)
            if self.blocked is not None:  # still waiting for a person
                self.hooks.report("needs-you", {"message": self.blocked})

    def turn(self, text: str) -> None:
        """Send `text` and work until the model answers without calling a tool."""
        self.blocked = None
        self.items.append(UserText(text))
        self.hooks.report("working")
        try:
            while True:
                if self._over_budget():
                    return
                answer = self._request()
                if answer is None:
                    return
                self.items.append(AssistantTurn(answer.text, answer.calls))
                if not answer.calls:
                    if answer.truncated:
                        self.terminal.warn(
                            "the answer stopped at max_tokens (raise it in org.toml)"
                        )
                    return
                for call in answer.calls:
                    self.hooks.report("working", {"message": f"{call.name}"})
                    self._show_call(call)
                    result = self.toolbox.run(call)
                    if result.is_error:
                        self.terminal.detail(result.output)
                    self.items.append(result)
        except KeyboardInterrupt:
            self.terminal.warn("interrupted")
            self._close_open_calls()

    # -- one request ---------------------------------------------------------------------------
    def _request(self) -> Answer | None:
        """The model's answer, retried while the API says "later"; None (and needs-you)
        when only a person can help."""
        attempt, made_room = 0, False
        while True:
            self._fit()
            attempt += 1
            try:
                answer = self.client.answer(self.system, self.items, TOOLS, self.terminal.stream)
            except ModelError as err:
                self.terminal.end_stream()
                message = self.redact(err.message)
                if err.context and not made_room:
                    self.terminal.warn(f"{message}; making room")
                    self._summarise()
                    made_room = True
                    continue
                if err.retry and attempt < MAX_ATTEMPTS:
                    delay = retry_delay(attempt, err.retry_after)
                    tries = f"try {attempt + 1} of {MAX_ATTEMPTS}"
                    self.terminal.warn(f"{message}; retrying in {delay:.0f} s ({tries})")
                    self.sleep(delay)
                    continue
                self._block(message)
                return None
            self.terminal.end_stream()
            self._record(answer.model, answer.tokens, answer.text)
            if answer.prompt_tokens:
                self.context.calibrate(self.items, answer.prompt_tokens)
            return answer

    def _record(self, model: str, tokens: Tokens | None, text: str) -> None:
        if tokens is None:  # the server reported none: estimated, and marked so
            tokens = Tokens(self.context.estimate(self.items), len(text) // 4)
            self.usage.append(model or self.config.model, tokens, estimated=True)
        else:
            self.usage.append(model or self.config.model, tokens)

    def _block(self, why: str) -> None:
        """Say in one line what stops the agent, and wait for a person (needs-you)."""
        self.terminal.error(f"{why} (type a line to try again)")
        self.hooks.report("needs-you", {"message": why})
        self.blocked = why

    def redact(self, text: str) -> str:
        """`text` without the API key (some servers quote what they were sent)."""
        if self.secret and len(self.secret) >= 8:
            text = text.replace(self.secret, "[key]")
        return text

    # -- the context window ---------------------------------------------------------------------
    def _fit(self) -> None:
        if not self.context.near(self.items):
            return
        shortened = self.context.shorten(self.items)
        if shortened:
            self.terminal.note(
                f"context: shortened {shortened} old tool output(s) to stay within"
                f" {si(self.config.context_limit)} tokens"
            )
        if self.context.near(self.items):
            self._summarise()

    def _summarise(self) -> None:
        """Replace the conversation by the model's own summary of it (or, failing that,
        by its newest part): the session goes on either way."""
        self.terminal.note("context: asking the model for a summary to continue from")
        self.hooks.report("working", {"message": "summarising its conversation"})
        prompt = [UserText(self.context.summary_prompt(self.items))]
        for attempt in range(1, SUMMARY_ATTEMPTS + 1):
            try:
                answer = self.client.answer(SUMMARY_SYSTEM, prompt, [], lambda _piece: None)
            except ModelError as err:
                if err.retry and attempt < SUMMARY_ATTEMPTS:
                    self.sleep(retry_delay(attempt, err.retry_after))
                    continue
                self.terminal.warn(
                    f"no summary ({self.redact(err.message)}); keeping the newest part"
                )
                break
            self._record(answer.model, answer.tokens, answer.text)
            if answer.text.strip():
                self.items[:] = ContextKeeper.restart(self.first_message, answer.text)
                size = sum(item_chars(i) for i in self.items) // 4
                self.terminal.note(f"context: continuing from a summary (~{si(size)} tokens)")
                return
            break
        self.items[:] = self.context.fallback(self.first_message, self.items)

    # -- budgets --------------------------------------------------------------------------------
    def _over_budget(self) -> bool:
        """True (and needs-you) when a budget is spent; org.toml is read again first, so
        a raised budget lets the agent go on."""
        if self.config.budget_usd is None and self.config.budget_tokens is None:
            return False
        spent = self.spend.spend(self.config.prices)
        warning = budget_warning(spent, self.config.budget_usd, self.config.budget_tokens)
        if warning is not None and self.reload is not None:
            try:
                # Only the budgets and prices: the client stays as it was started.
                again = self.reload()
                self.config = replace(
                    self.config,
                    budget_usd=again.budget_usd,
                    budget_tokens=again.budget_tokens,
                    prices=again.prices,
                )
            except UserError as exc:
                self.terminal.warn(f"org.toml: {exc}")
            warning = budget_warning(spent, self.config.budget_usd, self.config.budget_tokens)
        if warning is None:
            return False
        self._block(
            f"{warning}: this turn is not sent; raise budget_usd or budget_tokens for"
            f" {self.config.agent} in org/org.toml to go on"
        )
        return True

    def show_usage(self) -> None:
        spent = self.spend.spend(self.config.prices)
        t, n = spent.tokens, si
        self.terminal.detail(
            f"{n(t.total)} tokens ({n(t.input)} in, {n(t.output)} out, {n(t.cache_read)} cache"
            f" read, {n(t.cache_write)} cache write) in {spent.answers} answers: {spent.cost_text}"
        )

    # -- tools ------------------------------------------------------------------------------------
    def _ask(self, question: str) -> bool:
        self.hooks.report("needs-you", {"message": self.redact(question)[:200]})
        try:
            return self.terminal.ask(question)
        finally:
            self.hooks.report("working")

    def _show_call(self, call: ToolCall) -> None:
        args = call.arguments
        if call.name == "shell":
            shown = str(args.get("command", ""))
        elif call.name == "write_file":
            shown = f"{args.get('path')}, {len(str(args.get('content', '')))} characters"
        elif call.name == "replace_in_file":
            shown = str(args.get("path"))
        else:
            shown = ", ".join(f"{v}" for v in args.values())
        first = shown.splitlines()[0] if shown else ""
        more = " …" if len(shown.splitlines()) > 1 else ""
        self.terminal.say(f"{call.name}({first[:160]}{more})", CYAN)

    def _close_open_calls(self) -> None:
        """Every tool call needs a result: the ones an interrupt left get one."""
        answered = {i.call_id for i in self.items if isinstance(i, ToolResult)}
        for item in self.items:
            if isinstance(item, AssistantTurn):
                for call in item.calls:
                    if call.id not in answered:
                        self.items.append(
                            ToolResult(call.id, call.name, "interrupted by the person", True)
                        )
