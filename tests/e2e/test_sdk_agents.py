"""An `openai` and an `anthropic` agent in a real hub, against local fake Chat Completions
and Messages servers: the program in the first request, mail through the shell tool,
idle at the prompt, a typed mail notice confirmed and in the next request, tokens in
`status --json`, pause, a bad key as needs-you, `down` leaving nothing, no key anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from missionctl.agents.org.hub import Hub
from missionctl.agents.supervision.notices import MARKER, NoticeBook
from missionctl.mailbox import Mailbox
from tests.e2e.real_cli import said
from tests.fakes.chat_api import FakeChatAPI
from tests.fakes.messages_api import FakeMessagesAPI, api_key
from tests.fakes.model_server import CallTool, Fail, FakeModelServer, Say, user_texts
from tests.helpers import agent_state, never, processes_of, run_missionctl, wait_for

pytestmark = pytest.mark.slow

OPENAI_KEY = "sk-test-e2e-openai-3c7a91f0d2b4e6"
ANTHROPIC_KEY = "sk-ant-test-e2e-8e2d4b6f1a9c07"


def _status(root: Path) -> dict[str, dict[str, object]]:
    proc = run_missionctl(["status", "--json"], cwd=root, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert OPENAI_KEY not in proc.stdout and ANTHROPIC_KEY not in proc.stdout
    return {a["name"]: a for a in json.loads(proc.stdout)["agents"]}


def _files_with_a_key(root: Path) -> list[Path]:
    keys = (OPENAI_KEY.encode(), ANTHROPIC_KEY.encode())
    return [
        f for f in (root / ".missionctl").rglob("*")
        if f.is_file() and not f.is_symlink() and any(k in f.read_bytes() for k in keys)
    ]  # fmt: skip


def test_openai_and_anthropic_agents_work_like_the_others_in_a_real_hub(
    hub_factory: Callable[..., Hub], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    with FakeChatAPI() as chat, FakeMessagesAPI() as messages:
        servers: dict[str, FakeModelServer] = {"oa": chat, "an": messages}
        for name, server in servers.items():
            send = f"missionctl mail send --to human --subject 'hello from {name}' 'first result'"
            server.script(CallTool("shell", {"command": send}), Say("Sent my first result."),
                          Say("Read the new mail."))  # fmt: skip
        hub = hub_factory(
            '[[agent]]\nname = "oa"\nprovider = "openai"\n\n'
            '[[agent]]\nname = "an"\nprovider = "anthropic"\n\n'
            f'[providers.openai]\nbase_url = "{chat.url}/v1"\nmodel = "local-coder"\n\n'
            f'[providers.anthropic]\nbase_url = "{messages.url}"\nmodel = "claude-sonnet-4-5"\n'
        )
        root = hub.ws.root
        hub.up()
        program = (root / "org" / "program.md").read_text().strip().splitlines()[0]

        # The role prompt and the program are the first request, with the key from the env.
        for name, server in servers.items():
            first = server.wait_for_turn(said(f"You are agent {name!r}"), timeout=60,
                                         message=f"{name}'s first turn")  # fmt: skip
            assert program in user_texts(first)[0]
        assert chat.turns[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"
        assert api_key(messages.turns[0]) == ANTHROPIC_KEY

        # Mail sent through the shell tool with the real CLI arrives; then idle at the prompt.
        box = Mailbox.for_workspace(hub.ws)
        wait_for(lambda: {(m.sender, m.subject) for m in box.inbox("human")}
                 >= {("oa", "hello from oa"), ("an", "hello from an")}, timeout=60,
                 message="both agents' mail")  # fmt: skip
        for name in servers:
            wait_for(
                lambda n=name: agent_state(root, n) == "idle", timeout=30, message=f"{name} idle"
            )

        # New mail: a notice is typed at the prompt, confirmed by the prompt hook, and
        # is the next request's last user text.
        for name, server in servers.items():
            sent = box.send("human", name, "please compare the arms", subject="next step")[0]
            turn = server.wait_for_turn(said("1 new message from human: next step"), timeout=60,
                                        message=f"the notice at {name}'s model")  # fmt: skip
            assert user_texts(turn)[-1].endswith(f"run `{MARKER}`")
            wait_for(lambda n=name, i=sent.id: i in NoticeBook.load(hub.states, n).notified,
                     timeout=30, message=f"{name}'s notice confirmed")  # fmt: skip
            record = hub.states.hook(name)
            assert record is not None and "next step" in record.prompt
        for name in servers:
            wait_for(
                lambda n=name: agent_state(root, n) == "idle", timeout=30, message=f"{name} idle"
            )

        # Tokens and cost in status --json, as the servers counted them.
        status = _status(root)
        for name, server in servers.items():
            spend = status[name]["spend"]
            assert isinstance(spend, dict) and spend["answers"] == 3
            assert spend["tokens"]["total"] > sum(r.input_tokens for r in server.turns)  # type: ignore[index]
        assert status["an"]["spend"]["cost_usd"] > 0  # type: ignore[index]
        assert status["oa"]["spend"]["unpriced_models"] == ["local-coder"]  # type: ignore[index]

        # Pause freezes the agent's whole tree: mail waits, nothing reaches the model.
        stopped = hub.pause("oa")
        assert stopped and all(psutil.Process(p).status() == psutil.STATUS_STOPPED for p in stopped)
        assert agent_state(root, "oa") == "paused"
        turns = len(chat.turns)
        box.send("human", "oa", "are you there?", subject="ping")
        never(lambda: len(chat.turns) > turns, seconds=4)
        hub.resume("oa")
        chat.wait_for_turn(said("new message from human: ping"), timeout=60,
                           message="the notice after resume")  # fmt: skip

        # A bad key: one line on screen, needs-you in status, and the key shown nowhere.
        messages.script(Fail(401, f"invalid x-api-key: {ANTHROPIC_KEY}"))
        hub.tmux.run("send-keys", "-t", hub.target("an"), "one more thing", "Enter")
        wait_for(lambda: agent_state(root, "an") == "needs-you", timeout=30, message="needs-you")
        detail = str(_status(root)["an"]["detail"])
        assert detail.startswith("401 invalid x-api-key: [key]") and "$ANTHROPIC_API_KEY" in detail
        screen = hub.tmux.capture(hub.target("an"), history=200)
        assert len([line for line in screen.splitlines() if line.startswith("✗ 401")]) == 1
        assert ANTHROPIC_KEY not in screen and "Traceback" not in screen

        assert not _files_with_a_key(root)
        hub.down(grace=2.0)
        assert wait_for(lambda: not processes_of(root), timeout=20, message="no process left")
        assert not _files_with_a_key(root)
