"""`[notify]` end to end: the supervisor in the hub sends a webhook and runs a command."""

from __future__ import annotations

import http.server
import json
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from missionctl.agents.notify.notices import Notice
from missionctl.agents.notify.send import Notifier
from missionctl.agents.org.hub import Hub
from missionctl.mailbox import Mailbox
from missionctl.orgfile import NotifySpec
from tests.helpers import shell_agents, wait_for

# Writes its arguments, as JSON, one call a line, to the file named first.
RECORD = "import json, sys; open(sys.argv[1], 'a').write(json.dumps(sys.argv[2:]) + '\\n')"


class Webhook:
    """A local HTTP server that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, object]] = []
        self.paths: list[str] = []
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                hook.received.append(json.loads(self.rfile.read(length)))
                hook.paths.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?token=t0ken"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


def _calls(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_notifier_runs_the_command_and_posts_the_webhook(
    webhook: Webhook, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.jsonl"
    logged: list[str] = []
    spec = NotifySpec(
        command=(sys.executable, "-c", RECORD, str(calls), "{event}", "{agent}: {title}"),
        webhook_env="MC_TEST_HOOK",
        repeat_after=60.0,
    )
    notifier = Notifier(spec, logged.append, env={"MC_TEST_HOOK": webhook.url})
    notice = Notice("exit", "r2", "r2 exited with code 3", "r2 exited (org lab)", "lab", "box")
    assert notifier.send(notice)
    assert not notifier.send(notice)  # the same again at once: held back
    notifier.close()
    assert _calls(calls) == [["exit", "r2: r2 exited with code 3"]]
    assert webhook.received == [
        {"event": "exit", "agent": "r2", "title": "r2 exited with code 3",
         "message": "r2 exited (org lab)", "org": "lab", "host": "box",
         "ts": webhook.received[0]["ts"]},
    ]  # fmt: skip
    assert logged == []
    # A webhook that cannot be reached is logged once, without its secret query.
    dead = Notifier(NotifySpec(webhook="http://127.0.0.1:9/x?token=s3cret"), logged.append)
    dead.deliver(notice)
    dead.deliver(notice)
    assert len(logged) == 1 and "127.0.0.1" in logged[0] and "s3cret" not in logged[0]


def test_the_supervisor_notifies_with_no_app_open(
    hub_factory: Callable[..., Hub], webhook: Webhook, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.jsonl"
    command = [sys.executable, "-c", RECORD, str(calls), "{event}", "{agent}", "{org}"]
    extra = (
        f"[notify]\ncommand = {json.dumps(command)}\nwebhook = {json.dumps(webhook.url)}\n"
        'events = ["exit", "mail"]\n'
    )
    hub = hub_factory(shell_agents(2), extra)
    hub.up()
    # Seen idle by the supervisor first (a baseline: what an agent is when the
    # supervisor starts is no news), then an error exit.
    log = hub.ws.logs_dir / "supervisor.log"
    wait_for(lambda: log.exists() and "a2: starting -> idle" in log.read_text(), 20, "a baseline")
    hub.tmux.run("send-keys", "-t", "=hub:a2", "exit 3", "Enter")
    wait_for(lambda: any(r["event"] == "exit" for r in webhook.received), 20, "an exit webhook")
    exit_hook = next(r for r in webhook.received if r["event"] == "exit")
    assert exit_hook["agent"] == "a2" and "code 3" in str(exit_hook["title"])
    assert exit_hook["org"] == "lab"
    wait_for(lambda: ["exit", "a2", "lab"] in _calls(calls), 10, "the command")
    # A result mailed to the human: who and what, never the subject or body.
    Mailbox.for_workspace(hub.ws).send(
        "a1", "human", "val_bpb 2.41; key sk-notinmail", kind="result", subject="secret-ish"
    )
    wait_for(lambda: any(r["event"] == "mail" for r in webhook.received), 20, "a mail webhook")
    mail_hook = next(r for r in webhook.received if r["event"] == "mail")
    assert mail_hook["agent"] == "a1" and "result" in str(mail_hook["title"])
    assert "sk-notinmail" not in json.dumps(webhook.received)
    assert "secret-ish" not in json.dumps(webhook.received)
    assert ["mail", "a1", "lab"] in _calls(calls)
