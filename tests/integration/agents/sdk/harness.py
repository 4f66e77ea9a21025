"""Run an SDK agent in-process against a fake model server, over real HTTP.

The agent is the real one (real SDK clients, real tools in a real folder, the
real usage log); its terminal reads the typed lines given here and writes to a
buffer, and its state reports are kept in order (the hub tests use the real
`missionctl hook`; here the sequence itself is what is checked).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from missionctl import orgfile
from missionctl.agents.sdk.config import SdkConfig
from missionctl.agents.sdk.loop import SdkAgent
from missionctl.agents.sdk.terminal import Terminal
from tests.fakes.chat_api import FakeChatAPI
from tests.fakes.messages_api import FakeMessagesAPI
from tests.fakes.model_server import FakeModelServer, Request
from tests.fakes.responses_api import FakeResponsesAPI

KEY = "sk-test-sdk-agent-key-5b1e9c2d7a"
FIRST = "You are agent 'r1'. Your task: look around the worktree."
# (provider, api, the fake that speaks it)
APIS = {
    "anthropic": ("anthropic", None, FakeMessagesAPI),
    "openai-chat": ("openai", "chat", FakeChatAPI),
    "openai-responses": ("openai", "responses", FakeResponsesAPI),
}


@dataclass
class Hooks:
    """The agent's state reports, in order."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def report(self, event: str, payload: Mapping[str, object] | None = None) -> None:
        self.events.append((event, dict(payload or {})))

    @property
    def names(self) -> list[str]:
        return [e for e, _ in self.events]


@dataclass
class Run:
    """One finished session: what it printed, reported, and sent."""

    agent: SdkAgent
    output: str
    hooks: Hooks
    server: FakeModelServer
    worktree: Path
    runtime: Path
    sleeps: list[float]
    code: int

    @property
    def turns(self) -> list[Request]:
        return self.server.turns

    def lines(self, prefix: str) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith(prefix)]


def org_text(provider: str, api: str | None, url: str, extra: str = "", agent: str = "") -> str:
    base = f"{url}/v1" if provider == "openai" else url
    settings = f'base_url = "{base}"\nmodel = "fake-model"\n'
    if api:
        settings += f'api = "{api}"\n'
    return (
        f'[org]\nname = "lab"\n\n[[agent]]\nname = "r1"\nprovider = "{provider}"\n{agent}\n'
        f"[providers.{provider}]\n{settings}{extra}"
    )


@contextmanager
def server_for(api: str) -> Iterator[FakeModelServer]:
    with APIS[api][2]() as server:
        yield server


def run_agent(
    tmp_path: Path,
    api: str,
    server: FakeModelServer,
    typed: list[str] = (),  # type: ignore[assignment]
    *,
    extra: str = "",
    agent: str = "",
    environ: Mapping[str, str] | None = None,
    first: str = FIRST,
    reloads: list[str] | None = None,
) -> Run:
    """Run agent r1 until its typed lines run out; return what happened. `reloads`:
    the agent's settings each time org.toml is read again (a person edited it)."""
    provider, kind, _ = APIS[api]
    org = orgfile.loads(org_text(provider, kind, server.url, extra, agent))
    config = SdkConfig.of(org, "r1")
    worktree = tmp_path / "worktree"
    worktree.mkdir(exist_ok=True)
    runtime = tmp_path / ".missionctl"
    env = dict(environ) if environ is not None else {**os.environ, config.key_env: KEY}
    out = io.StringIO()
    terminal = Terminal(io.StringIO("".join(f"{line}\n" for line in typed)), out, colour=False)
    hooks = Hooks()
    sleeps: list[float] = []

    def reload() -> SdkConfig:
        again = reloads.pop(0) if reloads else agent
        return SdkConfig.of(orgfile.loads(org_text(provider, kind, server.url, extra, again)), "r1")

    sdk_agent = SdkAgent(
        config,
        config.client(env),
        worktree=worktree,
        runtime=runtime,
        environ=env,
        first_message=first,
        terminal=terminal,
        hooks=hooks,
        reload=reload,
        sleep=sleeps.append,  # the backoff chosen is checked, not waited for
    )
    code = sdk_agent.run()
    return Run(sdk_agent, out.getvalue(), hooks, server, worktree, runtime, sleeps, code)


def tool_outputs(request: Request) -> list[str]:
    """The tool results a request carries, in any of the three wire formats."""
    out: list[str] = []
    body = request.body
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        if message.get("role") == "tool":  # Chat Completions
            out.append(str(message.get("content")))
        content = message.get("content")
        if isinstance(content, list):  # Messages API
            out += [str(c.get("content")) for c in content
                    if isinstance(c, dict) and c.get("type") == "tool_result"]  # fmt: skip
    for item in body.get("input") or []:  # Responses API
        if isinstance(item, dict) and item.get("type") == "function_call_output":
            out.append(str(item.get("output")))
    return out
