"""The one model contract: complete(messages, tools) -> Reply, over a scripted chat model
(the model boundary is the only place a test double stands in)."""

from __future__ import annotations

import threading
import time

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.errors import AgentError, ModelCallError
from agent.models import Backend
from agent.models.contract import Call, ChatModel, is_transient
from agent.models.scripted import ScriptedChatModel, tool_call

SQL_SPEC = {"type": "function", "function": {"name": "sql", "description": "run SQL",
                                             "parameters": {"type": "object"}}}
ASK = [HumanMessage("How many rows?")]


def model(responses: list, *, text: bool = False, retries: int = 2) -> ChatModel:
    llm = ScriptedChatModel(responses)
    sleeps: list[float] = []
    chat = ChatModel(Backend(llm, "scripted", "text" if text else "native", "scripted"),
                     retries=retries, sleep=sleeps.append)
    chat.sleeps = sleeps  # type: ignore[attr-defined]
    return chat


def test_native_calls_come_back_typed_with_usage() -> None:
    chat = model([tool_call("sql", "let me count", query="SELECT 1")])
    reply = chat.complete(ASK, [SQL_SPEC])
    (call,) = reply.calls
    assert (call.name, call.args, call.native) == ("sql", {"query": "SELECT 1"}, True)
    assert reply.thought == "let me count" and reply.usage.input_tokens > 0
    assert chat.backend.llm.bound_tools == [SQL_SPEC]  # type: ignore[attr-defined]


def test_the_text_protocol_is_parsed_behind_the_contract_with_its_stop_list() -> None:
    chat = model(["I will count.\n```sql\nSELECT COUNT(*) FROM t\n```\nFinal answer: 3"],
                 text=True)
    reply = chat.complete(ASK, [SQL_SPEC])
    assert [c.name for c in reply.calls] == ["sql"]  # the first call only
    assert not reply.calls[0].native
    assert chat.backend.llm.call_options[0]["stop"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("text, names", [
    ("Final answer: 42", ["final_answer"]),
    ('{"tool": "sql", "arguments": {"query": "SELECT 2"}}', ["sql"]),
    ("no call here", []),
])
def test_a_text_reply_gives_the_calls_it_spells(text: str, names: list[str]) -> None:
    reply = model([text], text=True).complete(ASK, [SQL_SPEC])
    assert [c.name for c in reply.calls] == names and reply.text == text


def test_unparseable_native_calls_are_reported_not_raised() -> None:
    bad = AIMessage(content="", invalid_tool_calls=[
        {"name": "sql", "args": "{oops", "id": "c1", "error": "bad JSON", "type": "invalid_tool_call"}])
    chat = model([bad])
    reply = chat.complete(ASK, [SQL_SPEC])
    assert not reply.calls and "bad JSON" in reply.invalid and reply.invalid_ids == ("c1",)
    messages = chat.invalid_messages(reply, "send it again")
    assert isinstance(messages[1], ToolMessage) and messages[1].tool_call_id == "c1"


@pytest.mark.parametrize("error", [
    ConnectionError("refused"), TimeoutError("slow"),
    openai.APIConnectionError(request=httpx.Request("POST", "http://x")),
    httpx.ConnectError("refused"),
])
def test_transient_errors_are_typed_by_class_and_retried_with_backoff(error: Exception) -> None:
    assert is_transient(error)
    chat = model([error, error, "Final answer: 1"], text=True)
    reply = chat.complete(ASK, [SQL_SPEC])
    assert reply.calls[0].name == "final_answer"
    assert chat.sleeps == [1.0, 2.0]  # type: ignore[attr-defined]


def test_a_transient_error_past_the_retries_and_any_other_error_fail_at_once() -> None:
    with pytest.raises(ModelCallError, match="ConnectionError"):
        model([ConnectionError("down")] * 5, retries=1).complete(ASK)
    chat = model([ValueError("a bug"), "never"])
    with pytest.raises(ModelCallError, match="ValueError: a bug") as caught:
        chat.complete(ASK)
    assert chat.sleeps == []  # type: ignore[attr-defined]
    assert isinstance(caught.value, AgentError)
    assert not is_transient(ValueError("x")) and not is_transient(KeyError("ConnectionError"))


def test_a_hung_model_ends_at_the_deadline() -> None:
    release = threading.Event()

    def hang(messages: list) -> str:
        release.wait(30)
        return "late"

    chat = ChatModel(Backend(ScriptedChatModel(hang), "hung", "native", "scripted"))
    started = time.monotonic()
    try:
        with pytest.raises(ModelCallError) as caught:
            chat.complete(ASK, deadline=time.monotonic() + 0.3)
    finally:
        release.set()
    assert caught.value.timeout and time.monotonic() - started < 5


def test_history_messages_follow_the_call_style() -> None:
    chat = model([tool_call("sql", query="SELECT 1")])
    reply = chat.complete(ASK, [SQL_SPEC])
    native = reply.calls[0]
    assert chat.assistant_message(reply, reply.calls) is reply.message
    assert isinstance(chat.observation_message(native, "1 row", "Result of {tool}:\n{observation}"),
                      ToolMessage)
    written = Call("sql", {"query": "SELECT 1"})
    shown = chat.observation_message(written, "1 row", "Result of {tool}:\n{observation}")
    assert isinstance(shown, HumanMessage) and shown.content == "Result of sql:\n1 row"
    assert chat.assistant_message(reply, [written]).tool_calls == []
