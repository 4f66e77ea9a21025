"""A fake OpenAI Chat Completions API (`POST /v1/chat/completions`, streamed), as local
servers (vLLM, Ollama, llama.cpp) speak it: text deltas, tool calls whose arguments
arrive in pieces, a usage chunk when asked for (`stream_options.include_usage`),
and `data: [DONE]` at the end."""

from __future__ import annotations

import itertools
import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.model_server import (
    SSE,
    CallTool,
    FakeModelServer,
    Reply,
    Request,
    RunShell,
    Say,
    pieces,
    send_json,
    spoken,
)

_ids = itertools.count(1)


def tool_messages(request: Request) -> list[dict[str, Any]]:
    """The tool results the client sent back in this request."""
    messages = request.body.get("messages") or []
    return [m for m in messages if isinstance(m, dict) and m.get("role") == "tool"]


def user_texts(request: Request) -> list[str]:
    """The text of every user message in the request."""
    texts = []
    for message in request.body.get("messages") or []:
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts += [str(c.get("text", "")) for c in content if isinstance(c, dict)]
    return texts


class FakeChatAPI(FakeModelServer):
    """Answers `POST …/chat/completions` with a streamed chunk sequence."""

    def is_turn(self, request: Request) -> bool:
        # The agent's turns carry its tools; a summary request carries none.
        return self.is_chat(request) and bool(request.body.get("tools"))

    def is_chat(self, request: Request) -> bool:
        return request.path.split("?")[0].rstrip("/").endswith("/chat/completions")

    def handle_get(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.path.rstrip("/").endswith("/models"):
            send_json(handler, 200, {"object": "list", "data": []})
            return
        super().handle_get(handler)

    def answer(self, handler: BaseHTTPRequestHandler, request: Request, reply: Reply) -> None:
        if not self.is_chat(request):
            send_json(handler, 404, {"error": {"message": f"no {request.path} here"}})
            return
        chunk_id = f"chatcmpl-{next(_ids)}"
        model = str(request.body.get("model", "fake"))
        sse = SSE(handler)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> None:
            sse.data({"id": chunk_id, "object": "chat.completion.chunk", "created": int(time.time()),
                      "model": model, "choices": [{"index": 0, "delta": delta,
                                                   "finish_reason": finish}]})  # fmt: skip

        chunk({"role": "assistant", "content": ""})
        written = 0
        if isinstance(reply, Say):
            for piece in spoken(reply):
                chunk({"content": piece})
                written += len(piece)
            finish = "stop"
        else:
            if isinstance(reply, CallTool):
                name, arguments, why = reply.name, json.dumps(reply.arguments), reply.why
            else:
                assert isinstance(reply, RunShell)
                name, why = "shell", reply.why
                arguments = json.dumps({"command": reply.command})
            if why:
                chunk({"content": why})
            call_id = f"call_{next(_ids)}"
            head = {"index": 0, "id": call_id, "type": "function",
                    "function": {"name": name, "arguments": ""}}  # fmt: skip
            chunk({"tool_calls": [head]})
            for piece in pieces(arguments, 16):  # arguments arrive in pieces, as they do
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            written = len(why) + len(arguments)
            finish = "tool_calls"
        chunk({}, finish)
        if (request.body.get("stream_options") or {}).get("include_usage"):
            output = max(1, written // 4)
            usage = {"prompt_tokens": request.input_tokens, "completion_tokens": output,
                     "total_tokens": request.input_tokens + output,
                     "prompt_tokens_details": {"cached_tokens": 0}}  # fmt: skip
            sse.data({"id": chunk_id, "object": "chat.completion.chunk", "created": int(time.time()),
                      "model": model, "choices": [], "usage": usage})  # fmt: skip
        sse.data("[DONE]")
        handler.close_connection = True
