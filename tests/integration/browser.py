"""A real headless Chromium driven over the DevTools protocol (tests only).

Debian's `chromium` package (installed by .ci/run); no browser is downloaded.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.helpers import end_process

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--remote-debugging-port=0", "--window-size=1600,1000",
)  # fmt: skip

# xterm.js draws on a canvas, so the page's text is not in the DOM. Its screen-reader
# mode mirrors every row into DOM text (`.xterm-accessibility-tree`); textual-serve's
# script does not turn it on, so this does: an inherited `screenReaderMode` that the
# terminal's options loop (`for (key in options)`) picks up from textual-serve's
# options object, and that removes itself once read so no other loop meets it.
SCREEN_READER = """
(() => {
  Object.defineProperty(Object.prototype, "screenReaderMode", {
    enumerable: true, configurable: true,
    get() {
      if (!Object.prototype.hasOwnProperty.call(this, "allowProposedApi")) return undefined;
      delete Object.prototype.screenReaderMode;
      return true;
    },
  });
})();
"""
PAGE_TEXT = "document.querySelector('.xterm-accessibility-tree')?.innerText ?? ''"


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One Chromium with one page; `async with Browser() as b: await b.open(url)`."""

    def __init__(self) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="mc-chromium-"))
        self.process: subprocess.Popen[bytes] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)

    async def __aenter__(self) -> Browser:
        binary = chromium()
        assert binary is not None, "chromium is not installed (.ci/run installs it)"
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            assert self.process.poll() is None, "chromium exited at start"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            await asyncio.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        self._session = aiohttp.ClientSession()
        async with self._session.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json()
        page = next(t for t in targets if t["type"] == "page")
        self._ws = await self._session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        await self.call("Page.enable")
        await self.call("Page.addScriptToEvaluateOnNewDocument", source=SCREEN_READER)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()
        if self.process is not None:
            end_process(self.process, grace=10)
        shutil.rmtree(self.profile, ignore_errors=True)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command; its result (events on the way are skipped)."""
        assert self._ws is not None
        ident = next(self._ids)
        await self._ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = await asyncio.wait_for(self._ws.receive_json(), 30)
            if message.get("id") == ident:
                assert "error" not in message, message
                result: dict[str, Any] = message.get("result", {})
                return result

    async def open(self, url: str) -> None:
        await self.call("Page.navigate", url=url)

    async def text(self) -> str:
        """The terminal's rows as the page shows them."""
        result = await self.call("Runtime.evaluate", expression=PAGE_TEXT, returnByValue=True)
        return str(result["result"].get("value", ""))

    async def until_text(self, *needles: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = await self.text()
            if all(n in text for n in needles):
                return text
            assert time.monotonic() < deadline, f"{needles} not on the page; it shows:\n{text}"
            await asyncio.sleep(0.1)

    async def focus_terminal(self) -> None:
        """Give the keyboard to the terminal (a click on it would too)."""
        expression = "document.querySelector('.xterm-helper-textarea').focus()"
        await self.call("Runtime.evaluate", expression=expression)

    async def type(self, text: str) -> None:
        """Type `text` as key presses into the focused terminal, one per character."""
        for char in text:
            code = ord(char.upper()) if char.isalnum() and char.isascii() else 0
            await self.press(char, "", code, char)

    async def press(self, key: str, code: str, keycode: int, text: str = "") -> None:
        for kind in ("keyDown", "keyUp"):
            await self.call(
                "Input.dispatchKeyEvent", type=kind, key=key, code=code,
                windowsVirtualKeyCode=keycode, text=text if kind == "keyDown" else "",
            )  # fmt: skip
