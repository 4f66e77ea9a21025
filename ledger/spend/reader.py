"""Each agent's tokens and cost, from wherever its kind of agent writes them.

`SpendReader` reads one agent's usage incrementally (the app polls it every
second); `agent_spend` is the one-shot, torch-free question "what did this agent
spend, between these times?" that `missionctl status` and the ledger ask.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from missionctl.files import NotAPlainFile, read_regular
from missionctl.ledger.spend.logs import (
    CodexRollout,
    FileTail,
    claude_record,
    decoded,
    sdk_record,
)
from missionctl.ledger.spend.prices import PriceTable
from missionctl.ledger.spend.tokens import Tally, Tokens, UsageRecord
from missionctl.orgfile import OrgSpec
from missionctl.units import si

SDK_PROVIDERS = ("anthropic", "openai")
# New session files are looked for this often; known ones are read on every poll.
DISCOVER_EVERY_S = 5.0
# A bound on what one agent's directories can make a poll read.
MAX_FILES = 2000


def usage_log_path(runtime: Path, agent: str) -> Path:
    """An SDK agent's usage log."""
    return runtime / "usage" / f"{agent}.jsonl"


@dataclass(frozen=True)
class Spend:
    """What an agent's model use came to."""

    tokens: Tokens = field(default_factory=Tokens)
    # USD for every answer whose model has a price; models without one are listed.
    usd: float = 0.0
    unpriced: tuple[str, ...] = ()
    answers: int = 0

    @property
    def cost_text(self) -> str:
        """ "$1.23", "$1.23+?" (some tokens have no price) or "$?" (none has)."""
        if self.unpriced and not self.usd:
            return "$?"
        return money(self.usd) + ("+?" if self.unpriced else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "tokens": self.tokens.to_json(),
            "cost_usd": round(self.usd, 6),
            "unpriced_models": list(self.unpriced),
            "answers": self.answers,
        }


def summarise(
    records: Iterable[UsageRecord],
    prices: PriceTable,
    since: float | None = None,
    until: float | None = None,
) -> Spend:
    """The spend of the records from `since` up to (not including) `until`."""
    tokens, usd, answers = Tokens(), 0.0, 0
    unpriced: set[str] = set()
    for record in records:
        if (since is not None and record.ts < since) or (until is not None and record.ts >= until):
            continue
        tokens += record.tokens
        answers += 1
        price = prices.price(record.model)
        if price is None:
            if record.tokens.total:
                unpriced.add(record.model or "unknown model")
        else:
            usd += price.cost(record.tokens)
    return Spend(tokens, usd, tuple(sorted(unpriced)), answers)


def total(tallies: Iterable[Tally], prices: PriceTable) -> Spend:
    """The spend of whole tallies, from their totals per model (cost is linear in tokens)."""
    by_model: dict[str, Tokens] = {}
    answers = 0
    for tally in tallies:
        answers += len(tally)
        for model, tokens in tally.by_model.items():
            by_model[model] = by_model.get(model, Tokens()) + tokens
    tokens, usd = Tokens(), 0.0
    unpriced: set[str] = set()
    for model, used in by_model.items():
        tokens += used
        price = prices.price(model)
        if price is None:
            if used.total:
                unpriced.add(model or "unknown model")
        else:
            usd += price.cost(used)
    return Spend(tokens, usd, tuple(sorted(unpriced)), answers)


def budget_warning(spend: Spend, budget_usd: float | None, budget_tokens: int | None) -> str | None:
    """One line when the spend has reached a budget; else None."""
    if budget_usd is not None and spend.usd >= budget_usd:
        return f"over budget: {spend.cost_text} of {money(budget_usd)}"
    if budget_tokens is not None and spend.tokens.total >= budget_tokens:
        return f"over budget: {si(spend.tokens.total)} of {si(budget_tokens)} tokens"
    return None


def money(usd: float) -> str:
    """$1.23; fractions of a cent to four places ($0.0042)."""
    return f"${usd:.2f}" if usd >= 0.01 or not usd else f"${usd:.4f}"


def _small_json(path: Path) -> Any:
    """A small JSON file's content, or None (no links followed, regular files only)."""
    try:
        return json.loads(read_regular(path, 65536))
    except (NotAPlainFile, OSError, ValueError):
        return None


class _Source:
    """One file and what has been read from it."""

    def __init__(self, path: Path, kind: str) -> None:
        self.kind = kind
        self.tail = FileTail(path)
        self.keyed = Tally()
        self.codex = CodexRollout()

    def read(self) -> None:
        restarted, lines = self.tail.read()
        if restarted:
            self.keyed, self.codex = Tally(), CodexRollout()
        for position, line in decoded(lines, every=self.kind == "sdk"):
            if self.kind == "sdk":
                record = sdk_record(line)
                if record is not None:
                    self.keyed.put(str(position), record)
            elif self.kind == "claude":
                found = claude_record(line)
                if found is not None:
                    self.keyed.put(*found)  # a message written again: the last one wins
            else:
                self.codex.feed(line, position)

    def tally(self) -> Tally:
        return self.codex.usage() if self.kind == "codex" else self.keyed


class SpendReader:
    """One agent's model usage, read incrementally from its provider's files."""

    def __init__(
        self,
        runtime: Path,
        agent: str,
        provider: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.agent = agent
        self.provider = provider
        self.clock = clock
        self._sources: dict[Path, _Source] = {}
        self._found_at: float | None = None

    def _config(self, cli: str) -> Path:
        return self.runtime / "agent-config" / self.agent / cli

    def _claude_dirs(self) -> list[Path]:
        dirs = [self._config("claude") / "projects"]
        # The transcript its hooks last named (outside its own config directory when
        # `prepare_trust = false`): every session of that project directory, which is
        # the agent's worktree's. Only a `projects/<dir>/` path is taken from a hook.
        hook = _small_json(self.runtime / "state" / f"{self.agent}.json")
        transcript = hook.get("transcript") if isinstance(hook, dict) else None
        if isinstance(transcript, str) and transcript.endswith(".jsonl"):
            project = Path(transcript).parent
            if project.parent.name == "projects" and project.name not in ("", ".", ".."):
                dirs.append(project)
        return dirs

    def _discover(self) -> dict[Path, str]:
        if self.provider in SDK_PROVIDERS:
            return {usage_log_path(self.runtime, self.agent): "sdk"}
        found: dict[Path, str] = {}
        if self.provider == "claude":
            dirs, pattern, kind = self._claude_dirs(), "*.jsonl", "claude"
        elif self.provider == "codex":
            home = self._config("codex")
            dirs = [home / "sessions", home / "archived_sessions"]
            pattern, kind = "rollout-*.jsonl", "codex"
        else:
            return found
        for directory in dirs:
            if not directory.is_dir() or directory.is_symlink():
                continue
            for path in directory.rglob(pattern):
                if len(found) >= MAX_FILES:
                    return found
                found[path] = kind
        return found

    def _read(self) -> list[Tally]:
        """Read what is new; the tally of every file (new files are looked for every few s)."""
        now = self.clock()
        if self._found_at is None or now - self._found_at >= DISCOVER_EVERY_S:
            self._found_at = now
            found = self._discover()
            self._sources = {
                path: self._sources.get(path) or _Source(path, kind) for path, kind in found.items()
            }
        for source in self._sources.values():
            source.read()
        return [source.tally() for source in self._sources.values()]

    def records(self) -> list[UsageRecord]:
        """Every usage record so far."""
        return [r for tally in self._read() for r in tally.records.values()]

    def spend(self, prices: PriceTable) -> Spend:
        """The spend so far: the same as `summarise(records())`, at the cost of what changed."""
        return total(self._read(), prices)


def prices_for(org: OrgSpec, provider: str) -> PriceTable:
    """The price table for agents of `provider`: the built-in one with its overrides."""
    return PriceTable(org.provider_settings(provider).prices)


def agent_spend(
    root: Path,
    org: OrgSpec,
    agent: str,
    since: float | None = None,
    until: float | None = None,
) -> Spend:
    """What `agent` of the org in the workspace at `root` spent on its model, between
    `since` and `until` (seconds since the epoch; None: from the start, up to now).

    Torch-free and read-only: the ledger adds it to an experiment's compute cost.
    """
    spec = org.agent(agent)
    reader = SpendReader(root / ".missionctl", agent, spec.provider)
    prices = prices_for(org, spec.provider)
    if since is None and until is None:
        return reader.spend(prices)
    return summarise(reader.records(), prices, since, until)
