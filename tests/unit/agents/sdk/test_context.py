"""The SDK agent's conversation: its wire formats, the context keeper, retry decisions."""

from __future__ import annotations

import pytest

from missionctl.agents.sdk import conversation as conv
from missionctl.agents.sdk.anthropic_client import to_messages
from missionctl.agents.sdk.client import retry_delay
from missionctl.agents.sdk.context import NEAR, SUMMARY_ASK, ContextKeeper
from missionctl.agents.sdk.openai_client import to_chat_messages, to_responses_input

CONVERSATION: list[conv.Item] = [
    conv.UserText("the program"),
    conv.AssistantTurn("Looking.", [conv.ToolCall("c1", "shell", {"command": "ls"}),
                                    conv.ToolCall("c2", "read_file", {"path": "a.py"})]),
    conv.ToolResult("c1", "shell", "a.py\n[exit code 0]"),
    conv.ToolResult("c2", "read_file", "error: nope", is_error=True),
    conv.UserText("1 new message from human: hi — run `missionctl mail inbox`"),
    conv.AssistantTurn("Reading it."),
]  # fmt: skip


def test_messages_alternate_and_tool_results_come_first() -> None:
    messages = to_messages(CONVERSATION)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    results, notice = messages[2]["content"][:2], messages[2]["content"][2]
    assert [r["tool_use_id"] for r in results] == ["c1", "c2"] and results[1]["is_error"]
    assert notice["type"] == "text" and "new message" in notice["text"]
    uses = [b for b in messages[1]["content"] if b["type"] == "tool_use"]
    assert uses[0] == {"type": "tool_use", "id": "c1", "name": "shell", "input": {"command": "ls"}}
    # The conversation is the cached prefix of the next request.
    assert messages[-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}


def test_chat_messages_pair_each_call_with_its_result() -> None:
    messages = to_chat_messages("sys", CONVERSATION)
    assert [m["role"] for m in messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "tool",
        "user",
        "assistant",
    ]
    calls = messages[2]["tool_calls"]
    assert [c["id"] for c in calls] == ["c1", "c2"]
    assert calls[0]["function"] == {"name": "shell", "arguments": '{"command": "ls"}'}
    assert messages[3] == {"role": "tool", "tool_call_id": "c1", "content": "a.py\n[exit code 0]"}


def test_responses_input_items() -> None:
    items = to_responses_input(CONVERSATION)
    kinds = [i.get("type") or i["role"] for i in items]
    assert kinds == ["user", "assistant", "function_call", "function_call", "function_call_output",
                     "function_call_output", "user", "assistant"]  # fmt: skip
    assert items[4] == {
        "type": "function_call_output",
        "call_id": "c1",
        "output": "a.py\n[exit code 0]",
    }


def test_arguments_that_are_not_an_object_are_kept_for_the_error() -> None:
    assert conv.parse_arguments('{"a": 1}') == ({"a": 1}, None)
    assert conv.parse_arguments("") == ({}, None)
    assert conv.parse_arguments("[1, 2]") == ({}, "[1, 2]")
    assert conv.parse_arguments('{"a": ') == ({}, '{"a": ')
    # Sent back as the model wrote them, so the request stays valid.
    assert conv.ToolCall("x", "shell", {}, raw='{"a": ').arguments_json() == '{"a": '


def _long(n: int) -> list[conv.Item]:
    items: list[conv.Item] = [conv.UserText("the program")]
    for i in range(n):
        call = conv.ToolCall(f"c{i}", "shell", {"command": "cat big"})
        items += [conv.AssistantTurn("", [call]),
                  conv.ToolResult(f"c{i}", "shell", f"output {i} " + "x" * 4000)]  # fmt: skip
    return items


def test_old_outputs_are_shortened_newest_last_and_unanswered_never() -> None:
    keeper = ContextKeeper(limit=5000, overhead_chars=1000)
    items = _long(6)
    assert keeper.near(items)
    shortened = keeper.shorten(items)
    results = [i for i in items if isinstance(i, conv.ToolResult)]
    assert shortened >= 1 and not keeper.near(items)
    assert results[0].shortened and "characters dropped to save context" in results[0].output
    assert results[0].output.startswith("output 0 xxx")
    # The last output has not been seen by the model yet: it stays whole.
    assert not results[-1].shortened and len(results[-1].output) > 4000


def test_the_estimate_follows_what_the_server_counted() -> None:
    keeper = ContextKeeper(limit=10_000, overhead_chars=400)
    items: list[conv.Item] = [conv.UserText("y" * 3600)]
    assert keeper.estimate(items) == 1000
    keeper.calibrate(items, 2000)  # this tokenizer counts twice as many
    assert keeper.estimate(items) == 2000
    keeper.calibrate(items, 10**9)  # a server's nonsense is bounded
    assert keeper.estimate(items) == 4000


def test_a_summary_request_fits_and_the_restart_keeps_the_first_message() -> None:
    keeper = ContextKeeper(limit=2000, overhead_chars=0)
    prompt = keeper.summary_prompt(_long(10))
    assert prompt.endswith(SUMMARY_ASK)
    assert len(prompt) < 2000 * 4 * 0.7 and "[… the oldest part is left out]" in prompt
    assert "output 9" in prompt  # the newest part is what is kept
    items = ContextKeeper.restart("the program", "did X, next Y")
    assert isinstance(items[0], conv.UserText) and items[0].text == "the program"
    assert isinstance(items[1], conv.UserText) and "did X, next Y" in items[1].text
    fallback = keeper.fallback("the program", _long(10))
    assert len(fallback) == 2 and keeper.estimate(fallback) < NEAR * 2000


def test_retry_delays_back_off_or_obey_the_server() -> None:
    assert retry_delay(1, 7.0) == 7.0
    assert retry_delay(1, 10_000.0) == 120.0  # capped
    for attempt, base in ((1, 1.0), (3, 4.0), (7, 60.0), (20, 60.0)):
        assert 0.75 * base <= retry_delay(attempt, None) <= 1.25 * base


@pytest.mark.parametrize("n", [0, 1, 6])
def test_every_format_accepts_any_conversation_length(n: int) -> None:
    items = _long(n)
    assert to_messages(items)[0]["role"] == "user"
    assert to_chat_messages("s", items)[0]["role"] == "system"
    assert len(to_responses_input(items)) == 1 + 2 * n
