"""A fake OpenAI Chat Completions API (`POST /v1/chat/completions`, streamed), as local
servers (vLLM, Ollama, llama.cpp) speak it: text deltas, tool calls whose arguments
arrive in pieces, a usage chunk when asked for (`stream_options.include_usage`),
and `data: [DONE]` at the end."""

from __future__ import annotations

import itertools
import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

from tests.fakes.model_server import (
    SSE,
    CallTool,
    FakeModelServer,
    Reply,
    Request,
    RunShell,
    Say,
    pieces,
    spoken,
)

_ids = itertools.count(1)


def tool_messages(request: Request) -> list[dict[str, Any]]:
    """The tool results the client sent back in this request."""
    messages = request.body.get("messages") or []
    return [m for m in messages if isinstance(m, dict) and m.get("role") == "tool"]


class FakeChatAPI(FakeModelServer):
    """Answers `POST …/chat/completions` with a streamed chunk sequence."""

    endpoint = "/chat/completions"
    models: ClassVar[dict[str, Any] | None] = {"object": "list", "data": []}

    def answer(self, handler: BaseHTTPRequestHandler, request: Request, reply: Reply) -> None:
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
