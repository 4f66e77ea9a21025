"""A fake Anthropic Messages API (`POST /v1/messages`, streamed), as Claude Code speaks it."""

from __future__ import annotations

import itertools
import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.model_server import (
    SSE,
    CallTool,
    Fail,
    FakeModelServer,
    Reply,
    Request,
    RunShell,
    Say,
    send_json,
    spoken,
)

_ids = itertools.count(1)
USAGE = {"input_tokens": 100, "output_tokens": 1, "cache_creation_input_tokens": 0,
         "cache_read_input_tokens": 0}  # fmt: skip


def api_key(request: Request) -> str:
    """The key the request was sent with (`x-api-key`, or a bearer token)."""
    bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
    return request.headers.get("x-api-key") or bearer


def tool_results(request: Request) -> list[dict[str, Any]]:
    """The tool results the CLI sent back in this request."""
    found = []
    for message in request.body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            found += [c for c in content if isinstance(c, dict) and c.get("type") == "tool_result"]
    return found


def _blocks(reply: Reply) -> list[dict[str, Any]]:
    if isinstance(reply, Say):
        return [{"type": "text", "text": reply.text}]
    if isinstance(reply, CallTool):
        use = {"type": "tool_use", "id": f"toolu_{next(_ids):04d}", "name": reply.name,
               "input": reply.arguments}  # fmt: skip
        return [{"type": "text", "text": reply.why}, use] if reply.why else [use]
    assert isinstance(reply, RunShell)
    return [
        {"type": "text", "text": reply.why},
        {"type": "tool_use", "id": f"toolu_{next(_ids):04d}", "name": "Bash",
         "input": {"command": reply.command, "description": reply.why}},
    ]  # fmt: skip


class FakeMessagesAPI(FakeModelServer):
    """Answers `POST /v1/messages` with a streamed Messages-API event sequence."""

    endpoint = "/v1/messages"

    def handle_get(self, handler: BaseHTTPRequestHandler) -> None:
        send_json(handler, 200, {"data": [], "has_more": False})

    def handle_post(self, handler: BaseHTTPRequestHandler, request: Request) -> None:
        if request.path.split("?")[0].endswith("/count_tokens"):
            self._record(request, turn=False)
            send_json(handler, 200, {"input_tokens": 100})
            return
        super().handle_post(handler, request)

    def error_body(self, reply: Fail) -> dict[str, Any]:
        kind = reply.error_type or {
            400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
            404: "not_found_error", 429: "rate_limit_error", 529: "overloaded_error",
        }.get(reply.status, "api_error")  # fmt: skip
        return {"type": "error", "error": {"type": kind, "message": reply.message}}

    def answer(self, handler: BaseHTTPRequestHandler, request: Request, reply: Reply) -> None:
        message_id = f"msg_{next(_ids):04d}"
        model = str(request.body.get("model", "claude-fake"))
        blocks = _blocks(reply)
        stop = "tool_use" if isinstance(reply, (RunShell, CallTool)) else "end_turn"
        usage = {**USAGE, "input_tokens": request.input_tokens}
        if not request.body.get("stream"):
            send_json(handler, 200, {
                "id": message_id, "type": "message", "role": "assistant", "model": model,
                "content": blocks, "stop_reason": stop, "stop_sequence": None,
                "usage": {**usage, "output_tokens": 10}})  # fmt: skip
            return
        sse = SSE(handler)
        start = {"id": message_id, "type": "message", "role": "assistant", "model": model,
                 "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}  # fmt: skip
        sse.send("message_start", {"type": "message_start", "message": start})
        for index, block in enumerate(blocks):
            if block["type"] == "text":
                sse.send("content_block_start", {"type": "content_block_start", "index": index,
                                                 "content_block": {"type": "text", "text": ""}})  # fmt: skip
                text = reply if isinstance(reply, Say) else Say(block["text"])
                for piece in spoken(text):
                    sse.send("content_block_delta", {"type": "content_block_delta", "index": index,
                             "delta": {"type": "text_delta", "text": piece}})  # fmt: skip
            else:
                empty = {**block, "input": {}}
                sse.send("content_block_start", {"type": "content_block_start", "index": index,
                                                 "content_block": empty})  # fmt: skip
                sse.send("content_block_delta", {"type": "content_block_delta", "index": index,
                         "delta": {"type": "input_json_delta",
                                   "partial_json": json.dumps(block["input"])}})  # fmt: skip
            sse.send("content_block_stop", {"type": "content_block_stop", "index": index})
        sse.send("message_delta", {"type": "message_delta",
                                   "delta": {"stop_reason": stop, "stop_sequence": None},
                                   "usage": {"output_tokens": 10}})  # fmt: skip
        sse.send("message_stop", {"type": "message_stop"})
        handler.close_connection = True
