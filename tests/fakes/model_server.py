"""A scriptable fake model server: an HTTP server on a free port, in a thread.

The real agent CLIs (Codex, Claude Code) and missionctl's own SDK agents are
pointed at it. A test scripts what the "model" answers next — a text answer
(optionally held half-way, so the agent stays busy until the test lets go), a
call to run a shell command, a call to any tool by name, or an HTTP error — and
reads back every request the client sent, to assert what reached the model.
Usage follows the request: its input tokens are its size / 4, as a tokenizer
would roughly count them.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

HOLD_LIMIT_S = 120.0


@dataclass
class Say:
    """Answer with text, streamed in small pieces.

    With `hold`, the first `hold_after` pieces are sent at once and the rest only
    after `hold.set()`: the agent stays mid-answer (working) for as long as the
    test needs. `hold_after=0` holds before any text (the CLI shows its spinner).
    """

    text: str
    hold: threading.Event | None = None
    hold_after: int = 1


@dataclass
class RunShell:
    """Ask to run `command` in a shell (the CLI asks the user to approve it)."""

    command: str
    why: str = "I need to run this to answer."


@dataclass
class CallTool:
    """Call the tool `name` with `arguments` (missionctl's SDK agents' own tools)."""

    name: str
    arguments: dict[str, Any]
    why: str = ""


@dataclass
class Fail:
    """Answer with an HTTP error instead (429, 500, 401, 404, 400…)."""

    status: int
    message: str = "scripted failure"
    error_type: str = ""
    retry_after: str | None = None


Reply = Say | RunShell | CallTool | Fail


@dataclass
class Request:
    """One request the CLI sent."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    ts: float = field(default_factory=time.time)

    @property
    def text(self) -> str:
        """The whole body as JSON text, to look for a string anywhere in it."""
        return json.dumps(self.body)

    @property
    def input_tokens(self) -> int:
        """What the fake says the prompt cost: its size / 4."""
        return max(1, len(self.text) // 4)


class SSE:
    """Writes server-sent events to one response."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self.handler = handler
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Connection", "close")
        handler.end_headers()

    def send(self, event: str, data: dict[str, Any]) -> None:
        chunk = f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()
        self.handler.wfile.write(chunk)
        self.handler.wfile.flush()

    def data(self, data: dict[str, Any] | str) -> None:
        """An event with no name (Chat Completions streams only these)."""
        text = data if isinstance(data, str) else json.dumps(data)
        self.handler.wfile.write(f"data: {text}\n\n".encode())
        self.handler.wfile.flush()


def pieces(text: str, size: int = 12) -> Iterator[str]:
    """`text` in small pieces, as a model streams it."""
    for i in range(0, len(text), size):
        yield text[i : i + size]


class FakeModelServer:
    """The part every fake API shares: the server, the script and the request log.

    Subclasses say which requests are the agent's own turns (they consume the
    script; side requests such as title generation get a short answer) and how
    replies are written on the wire.
    """

    default_reply: Reply = Say("Done.")
    # What requests that are not the agent's turns (titles, summaries) get.
    side_reply: Reply = Say("OK")

    def __init__(self) -> None:
        self._script: deque[Reply] = deque()
        self._lock = threading.Condition()
        self.requests: list[Request] = []
        self.turns: list[Request] = []  # the requests that consumed the script
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean; requests are in server.requests

            def do_GET(self) -> None:
                server.handle_get(self)

            def do_HEAD(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = Request(self.path, headers, body if isinstance(body, dict) else {})
                server.handle_post(self, request)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- lifecycle ------------------------------------------------------------------
    def __enter__(self) -> FakeModelServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        """The server's root, e.g. http://127.0.0.1:PORT."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- the script -------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        """Queue what the model answers on its next turns, in order."""
        with self._lock:
            self._script.extend(replies)

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else self.default_reply

    # -- what reached the model -----------------------------------------------------
    def wait_for_turn(
        self, predicate: Callable[[Request], bool], timeout: float = 60.0, message: str = ""
    ) -> Request:
        """The first agent turn matching `predicate`, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for request in self.turns:
                    if predicate(request):
                        return request
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [r.path for r in self.requests]
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {message or 'a turn'};"
                        f" requests so far: {seen}"
                    )
                self._lock.wait(left)

    def _record(self, request: Request, turn: bool) -> None:
        with self._lock:
            self.requests.append(request)
            if turn:
                self.turns.append(request)
            self._lock.notify_all()

    # -- the wire: subclasses ---------------------------------------------------------
    # The path the API answers turns at, e.g. "/chat/completions".
    endpoint = ""
    # What `GET …/models` answers, where the API lists its models.
    models: ClassVar[dict[str, Any] | None] = None

    def at_endpoint(self, request: Request) -> bool:
        return request.path.split("?")[0].rstrip("/").endswith(self.endpoint)

    def is_turn(self, request: Request) -> bool:
        """Whether `request` is the agent's own turn (consumes the script): the
        agent's turns carry its tools; title and summary requests carry none."""
        return self.at_endpoint(request) and bool(request.body.get("tools"))

    def handle_get(self, handler: BaseHTTPRequestHandler) -> None:
        if self.models is not None and handler.path.rstrip("/").endswith("/models"):
            send_json(handler, 200, self.models)
            return
        send_json(handler, 404, {"error": {"message": f"no {handler.path} here"}})

    def handle_post(self, handler: BaseHTTPRequestHandler, request: Request) -> None:
        turn = self.is_turn(request)
        reply = self._next_reply() if turn else self.side_reply
        self._record(request, turn)
        if not self.at_endpoint(request):
            reply = Fail(404, f"no {request.path} here", "not_found_error")
        if isinstance(reply, Fail):
            headers = {"retry-after": reply.retry_after} if reply.retry_after is not None else {}
            send_json(handler, reply.status, self.error_body(reply), headers)
            return
        self.answer(handler, request, reply)

    def answer(self, handler: BaseHTTPRequestHandler, request: Request, reply: Reply) -> None:
        raise NotImplementedError

    def error_body(self, reply: Fail) -> dict[str, Any]:
        """An error as this API words it (OpenAI's shape; Anthropic's fake overrides it)."""
        kind = reply.error_type or {401: "invalid_request_error", 404: "invalid_request_error",
                                    429: "rate_limit_exceeded"}.get(reply.status, "server_error")  # fmt: skip
        return {"error": {"message": reply.message, "type": kind, "param": None, "code": None}}


def send_json(
    handler: BaseHTTPRequestHandler,
    status: int,
    data: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> None:
    """A plain JSON response."""
    body = json.dumps(data).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def user_texts(request: Request) -> list[str]:
    """The text of every user message in the request, in any of the three wire
    formats (Chat `messages`, Messages `messages`, Responses `input`)."""
    texts: list[str] = []
    given = request.body.get("input") or []
    if isinstance(given, str):
        return [given]
    for item in [*(request.body.get("messages") or []), *given]:
        if not isinstance(item, dict) or item.get("role") != "user":
            continue
        content = item.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts += [str(c.get("text")) for c in content
                      if isinstance(c, dict) and c.get("type") in ("text", "input_text")]  # fmt: skip
    return texts


def spoken(reply: Say) -> Iterator[str]:
    """The pieces of a text answer, pausing where the test holds it (at most
    HOLD_LIMIT_S: a failed test must not leave a CLI on an open stream)."""
    for n, piece in enumerate(pieces(reply.text)):
        if n == reply.hold_after and reply.hold is not None:
            reply.hold.wait(HOLD_LIMIT_S)
        yield piece
