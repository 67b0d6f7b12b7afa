"""The knowledge-search tool loop: forced tool call, results threaded by tool_call_id, a cited answer."""

from __future__ import annotations

import asyncio

import openai
import pytest

from llmtape import Call, TapeView
from tests.scenarios.checks import argument_pieces, recorded_answer, recorded_tool_calls, text
from tests.scenarios.conftest import Provider
from tests.scenarios.knowledge import FORCE_SEARCH, TOOLS, KnowledgeAgent, query_of, tool_result

QUESTION = "What are the updates from the US region?"
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])


def assert_tool_loop(search: Call, answer: Call, question: str) -> None:
    """The search call offered the tool and forced it; the answer call got its result under its id."""
    assert search.body["tools"] == TOOLS
    assert search.body["tool_choice"] == FORCE_SEARCH
    (called,) = recorded_tool_calls(search)
    assert called["name"] == "knowledge_search"
    assert called["id"]
    *_, assistant, tool = answer.body["messages"]
    assert assistant["tool_calls"] == [
        {
            "id": called["id"],
            "type": "function",
            "function": {"name": called["name"], "arguments": called["arguments"]},
        }
    ]
    assert tool == {
        "role": "tool",
        "tool_call_id": called["id"],
        "content": tool_result(query_of(called["arguments"], question)),
    }
    assert "(cite as <|file-" in tool["content"]
    assert answer.body["tool_choice"] == "none"


@STREAM
def test_tool_loop(client: openai.OpenAI, provider: Provider, llmtape: TapeView, stream: bool) -> None:
    agent = KnowledgeAgent(client, provider.model)
    answer = agent.ask(QUESTION, stream=stream)
    search, answered = llmtape.calls
    assert_tool_loop(search, answered, QUESTION)
    assert answer == recorded_answer(answered)
    assert search.body.get("stream", False) is stream


def test_streamed_arguments_arrive_in_pieces(
    client: openai.OpenAI, provider: Provider, llmtape: TapeView
) -> None:
    KnowledgeAgent(client, provider.model).ask(QUESTION, stream=True)
    search, answered = llmtape.calls
    assert argument_pieces(search) > 1
    # What the application put together from the pieces is what it sent back.
    (called,) = recorded_tool_calls(search)
    assert answered.body["messages"][-2]["tool_calls"][0]["function"]["arguments"] == called["arguments"]


@STREAM
def test_async_tool_loop(
    async_client: openai.AsyncOpenAI, provider: Provider, llmtape: TapeView, stream: bool
) -> None:
    agent = KnowledgeAgent(async_client, provider.model)
    answer = asyncio.run(agent.aask(QUESTION, stream=stream))
    search, answered = llmtape.calls
    assert_tool_loop(search, answered, QUESTION)
    assert answer == recorded_answer(answered)


def test_memory_and_tools_in_one_conversation(
    client: openai.OpenAI, provider: Provider, llmtape: TapeView
) -> None:
    agent = KnowledgeAgent(client, provider.model)
    greeting = agent.chat("Hi, I'm Ankur and I look after the US region.")
    answer = agent.ask("What are the latest updates from my region?", stream=True)
    follow_up = agent.chat("Summarize that in one sentence and remind me of my name.")
    hello, search, answered, last = llmtape.calls
    assert_tool_loop(search, answered, "What are the latest updates from my region?")
    # The follow-up carries the whole conversation, tool exchange included, in order.
    roles = [m["role"] for m in last.body["messages"]]
    assert roles == ["system", "user", "assistant", "user", "assistant", "tool", "assistant", "user"]
    sent = last.body["messages"]
    assert (text(sent[2]), text(sent[6])) == (greeting, answer)
    assert sent[5]["tool_call_id"] == recorded_tool_calls(search)[0]["id"]
    assert "tools" not in hello.body
    assert "tools" not in last.body
    assert follow_up == recorded_answer(last)
