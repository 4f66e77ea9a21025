"""A fake OpenAI Responses API (`POST /v1/responses`, streamed), as Codex CLI speaks it."""

from __future__ import annotations

import itertools
import json
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

from tests.fakes import model_server

_ids = itertools.count(1)


def _tool_names(request: model_server.Request) -> list[str]:
    names = []
    for tool in request.body.get("tools") or []:
        if isinstance(tool, dict):
            names.append(str(tool.get("name") or tool.get("type") or ""))
    return names


def shell_call(request: model_server.Request, command: str, why: str) -> dict[str, Any]:
    """A function call to whichever shell tool the request offers, asking to run
    `command` outside the sandbox (so an on-request policy has to ask the user)."""
    names = _tool_names(request)
    call_id = f"call_{next(_ids)}"
    if "shell_command" in names:
        name, args = "shell_command", {"command": command}
    elif "exec_command" in names:
        name, args = "exec_command", {"cmd": command}
    else:
        name, args = "shell", {"command": ["bash", "-lc", command]}
    args |= {"sandbox_permissions": "require_escalated", "justification": why}
    return {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": name,
        "arguments": json.dumps(args),
        "status": "completed",
    }


def function_outputs(request: model_server.Request) -> list[dict[str, Any]]:
    """The tool results the CLI sent back in this request."""
    items = request.body.get("input") or []
    return [i for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"]


class FakeResponsesAPI(model_server.FakeModelServer):
    """Answers `POST …/responses` with a streamed Responses-API event sequence."""

    endpoint = "/responses"
    models: ClassVar[dict[str, Any] | None] = {"object": "list", "data": [], "models": []}

    def answer(
        self,
        handler: BaseHTTPRequestHandler,
        request: model_server.Request,
        reply: model_server.Reply,
    ) -> None:
        response_id = f"resp_{next(_ids)}"
        model = str(request.body.get("model", "fake"))
        sse = model_server.SSE(handler)
        seq = itertools.count()

        def send(kind: str, **fields: Any) -> None:
            sse.send(kind, {"type": kind, "sequence_number": next(seq), **fields})

        base = {"id": response_id, "object": "response", "model": model, "output": []}
        send("response.created", response={**base, "status": "in_progress"})
        send("response.in_progress", response={**base, "status": "in_progress"})
        if isinstance(reply, model_server.Say):
            item_id = f"msg_{next(_ids)}"
            item = {"type": "message", "id": item_id, "role": "assistant", "status": "in_progress",
                    "content": []}  # fmt: skip
            send("response.output_item.added", output_index=0, item=item)
            part = {"type": "output_text", "text": "", "annotations": []}
            send("response.content_part.added", item_id=item_id, output_index=0,
                 content_index=0, part=part)  # fmt: skip
            for piece in model_server.spoken(reply):
                send("response.output_text.delta", item_id=item_id, output_index=0,
                     content_index=0, delta=piece)  # fmt: skip
            send("response.output_text.done", item_id=item_id, output_index=0,
                 content_index=0, text=reply.text)  # fmt: skip
            done = {**item, "status": "completed",
                    "content": [{**part, "text": reply.text}]}  # fmt: skip
            send("response.output_item.done", output_index=0, item=done)
            output = [done]
        else:
            if isinstance(reply, model_server.CallTool):
                call_id = f"call_{next(_ids)}"
                call = {"type": "function_call", "id": f"fc_{call_id}", "call_id": call_id,
                        "name": reply.name, "arguments": json.dumps(reply.arguments),
                        "status": "completed"}  # fmt: skip
            else:
                assert isinstance(reply, model_server.RunShell)
                call = shell_call(request, reply.command, reply.why)
            send("response.output_item.added", output_index=0, item={**call, "arguments": ""})
            send("response.output_item.done", output_index=0, item=call)
            output = [call]
        usage = {"input_tokens": request.input_tokens, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": 10, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": request.input_tokens + 10}  # fmt: skip
        send("response.completed",
             response={**base, "status": "completed", "output": output, "usage": usage})  # fmt: skip
        handler.close_connection = True
