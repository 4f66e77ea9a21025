"""`missionctl serve`: the grid in a real headless Chromium, and the token on every request."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from missionctl.agents.org.hub import Hub
from tests.helpers import end_process, run_missionctl, shell_agents, wait_for
from tests.integration.browser import Browser, chromium

TOKEN = "t0ken-for-the-test-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    def __init__(self, root: Path, *args: str) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "missionctl", "serve", "--port", str(self.port), *args],
            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        assert self.process.stdout is not None
        self.banner = self.process.stdout.readline()
        wait_for(self._listening, 20, "the server to listen")

    def _listening(self) -> bool:
        assert self.process.poll() is None, self.banner
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        end_process(self.process, grace=15)


@pytest.fixture
def serve(hub_factory: Callable[..., Hub]) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []
    hub = hub_factory(shell_agents(2))
    hub.up()

    def start(*args: str) -> Served:
        served = Served(hub.ws.root, *args)
        served.hub = hub  # type: ignore[attr-defined]
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers or {}), timeout=10
        ) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


async def _ws_status(url: str, headers: dict[str, str] | None = None) -> int:
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(url, headers=headers or {}) as ws:
                await ws.close()
                return 101
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status


def test_another_address_needs_the_token_on_the_page_and_the_websocket(
    serve: Callable[..., Served],
) -> None:
    served = serve("--host", "0.0.0.0", "--token", TOKEN)
    assert f"?token={TOKEN}" in served.banner
    assert _status(served.url("/")) == 403
    assert _status(served.url("/?token=wrong-token-wrong-token")) == 403
    assert _status(served.url("/static/js/textual.js")) == 403
    assert asyncio.run(_ws_status(served.url("/ws").replace("http", "ws"))) == 403
    assert _status(served.url(f"/?token={TOKEN}")) == 200
    assert (
        _status(served.url("/static/js/textual.js"), {"Cookie": f"missionctl_token={TOKEN}"}) == 200
    )
    ws = served.url(f"/ws?token={TOKEN}&width=120&height=40").replace("http", "ws")
    assert asyncio.run(_ws_status(ws)) == 101
    # A page of another site may not open the WebSocket, token or not.
    assert asyncio.run(_ws_status(ws, {"Origin": "http://evil.example"})) == 403


def test_without_a_token_another_address_gets_one_made_and_printed(
    serve: Callable[..., Served],
) -> None:
    served = serve("--host", "0.0.0.0")
    token = served.banner.strip().split("?token=")[1].split()[0]
    assert len(token) >= 24
    assert _status(served.url("/")) == 403 and _status(served.url(f"/?token={token}")) == 200


def test_loopback_answers_loopback_names_only(serve: Callable[..., Served]) -> None:
    served = serve()
    assert _status(served.url("/")) == 200
    # DNS rebinding: a site's name pointed at 127.0.0.1 reaches the server by that name.
    assert _status(served.url("/"), {"Host": f"evil.example:{served.port}"}) == 403
    assert asyncio.run(_ws_status(served.url("/ws").replace("http", "ws"),
                                  {"Origin": "http://evil.example"})) == 403  # fmt: skip


def test_bad_options_are_one_line() -> None:
    proc = run_missionctl(["serve", "--token", "short"], cwd=Path.cwd(), timeout=30)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1


@pytest.mark.skipif(
    chromium() is None and not os.environ.get("CI"),  # CI must have it: .ci/run installs it
    reason="chromium is not installed (.ci/run installs it)",
)
def test_the_grid_in_a_real_browser(serve: Callable[..., Served]) -> None:
    served = serve("--host", "0.0.0.0", "--token", TOKEN)
    hub: Hub = served.hub  # type: ignore[attr-defined]
    tty = hub.tmux.run("display-message", "-p", "-t", "=hub:a1", "#{pane_tty}").strip()
    with open(tty, "w") as out:
        out.write("printed-for-the-browser\r\n")

    async def scenario() -> None:
        async with Browser() as browser:
            await browser.open(served.url(f"/?token={TOKEN}"))
            text = await browser.until_text("a1", "a2", "printed-for-the-browser", timeout=60)
            assert "Type into" in text  # the grid's footer
            # `i` types into the agent from the browser too; Enter in it goes to the agent.
            await browser.focus_terminal()
            await browser.press("2", "Digit2", 50, "2")
            await browser.press("i", "KeyI", 73, "i")
            await browser.until_text("LIVE")
            await browser.type("echo web-$((6*7))")
            await browser.press("Enter", "Enter", 13, "\r")
            await browser.until_text("web-42")

    asyncio.run(scenario())
    wait_for(
        lambda: "web-42" in hub.tmux.run("capture-pane", "-p", "-t", "=hub:a2"),
        message="the command typed in the browser run in the agent's pane",
    )
