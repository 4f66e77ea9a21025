"""The fake model servers speak their APIs as the official SDKs read them.

The real CLIs need no other proof than the end-to-end tests, but those skip where
the CLIs are not installed; these keep the fakes honest everywhere.
"""

from __future__ import annotations

import json
import threading

import anthropic
import openai

from tests.fakes.messages_api import FakeMessagesAPI, api_key, tool_results
from tests.fakes.model_server import RunShell, Say, user_texts
from tests.fakes.responses_api import FakeResponsesAPI, function_outputs

TOOLS_OPENAI = [{"type": "function", "name": "exec_command", "description": "run",
                 "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}]  # fmt: skip
TOOLS_ANTHROPIC = [{"name": "Bash", "description": "run",
                    "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}]  # fmt: skip


def test_responses_api_streams_text_then_a_shell_call(responses_api: FakeResponsesAPI) -> None:
    client = openai.OpenAI(base_url=f"{responses_api.url}/v1", api_key="sk-test", max_retries=0)
    responses_api.script(Say("Hello from the fake model."), RunShell("touch /nonexistent/canary"))
    stream = client.responses.create(model="m", input="hi", tools=TOOLS_OPENAI, stream=True)  # type: ignore[arg-type]
    events = list(stream)
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "Hello from the fake model."
    assert events[-1].type == "response.completed"

    stream = client.responses.create(model="m", input="go", tools=TOOLS_OPENAI, stream=True)  # type: ignore[arg-type]
    done = [e for e in stream if e.type == "response.output_item.done"]
    call = done[0].item
    assert call.type == "function_call" and call.name == "exec_command"
    args = json.loads(call.arguments)
    assert args["cmd"] == "touch /nonexistent/canary"
    assert args["sandbox_permissions"] == "require_escalated"  # so Codex has to ask
    assert [user_texts(r)[-1] for r in responses_api.turns] == ["hi", "go"]
    assert not any(function_outputs(r) for r in responses_api.turns)
    # A request without tools (a title) does not use up the script.
    client.responses.create(model="m", input="title?", stream=True)
    assert len(responses_api.turns) == 2 and len(responses_api.requests) == 3


def test_messages_api_streams_text_then_a_bash_call(messages_api: FakeMessagesAPI) -> None:
    client = anthropic.Anthropic(base_url=messages_api.url, api_key="sk-ant-test", max_retries=0)
    messages_api.script(Say("Hello from the fake model."), RunShell("touch /nonexistent/canary"))
    with client.messages.stream(model="m", max_tokens=100, tools=TOOLS_ANTHROPIC,  # type: ignore[arg-type]
                                messages=[{"role": "user", "content": "hi"}]) as stream:  # fmt: skip
        assert stream.get_final_text() == "Hello from the fake model."
    with client.messages.stream(model="m", max_tokens=100, tools=TOOLS_ANTHROPIC,  # type: ignore[arg-type]
                                messages=[{"role": "user", "content": "go"}]) as stream:  # fmt: skip
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    (use,) = [b for b in final.content if b.type == "tool_use"]
    assert use.name == "Bash" and use.input == {
        "command": "touch /nonexistent/canary", "description": RunShell("").why}  # fmt: skip
    assert api_key(messages_api.requests[0]) == "sk-ant-test"
    assert not any(tool_results(r) for r in messages_api.turns)
    assert client.messages.count_tokens(model="m", messages=[{"role": "user", "content": "x"}])


def test_a_held_answer_waits_for_the_test(responses_api: FakeResponsesAPI) -> None:
    client = openai.OpenAI(base_url=f"{responses_api.url}/v1", api_key="sk-test", max_retries=0)
    hold = threading.Event()
    responses_api.script(Say("first piece, then the rest of it", hold=hold))
    seen: list[str] = []

    def read() -> None:
        stream = client.responses.create(model="m", input="hi", tools=TOOLS_OPENAI, stream=True)  # type: ignore[arg-type]
        seen.extend(e.type for e in stream)

    reader = threading.Thread(target=read)
    reader.start()
    responses_api.wait_for_turn(lambda r: True, timeout=10)
    reader.join(timeout=1.0)  # the answer is held: the stream is still open
    assert reader.is_alive() and "response.completed" not in seen
    hold.set()
    reader.join(timeout=10)
    assert not reader.is_alive() and seen[-1] == "response.completed"
