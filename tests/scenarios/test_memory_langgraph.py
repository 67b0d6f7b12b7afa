"""The four memory strategies on LangGraph short-term memory: StateGraph, InMemorySaver, thread ids."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from llmtape import TapeView
from tests.scenarios.checks import (
    assert_buffer,
    assert_sessions_apart,
    assert_summary,
    assert_summary_buffer,
    assert_window,
    chat_calls,
    chat_requests,
    recorded_answer,
    summary_calls,
)
from tests.scenarios.conftest import Provider
from tests.scenarios.conversation import OTHER_TURNS, TOKEN_BUDGET, TURNS, WINDOW
from tests.scenarios.memory_langchain import chat_model
from tests.scenarios.memory_langgraph import buffer_graph, summary_buffer_graph, summary_graph, window_graph

STREAM = pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])


def converse(graph: Any, stream: bool, thread: str = "ankur", turns: list[str] = TURNS) -> list[str]:
    config = {"configurable": {"thread_id": thread}}
    answers = []
    for turn in turns:
        state = {"messages": [HumanMessage(content=turn)]}
        if stream:
            pieces = graph.stream(state, config, stream_mode="messages")
            answers.append("".join(str(m.content) for m, meta in pieces if meta["langgraph_node"] == "model"))
        else:
            # The model node's update, as summarizing graphs remove the messages afterwards.
            updates = graph.stream(state, config, stream_mode="updates")
            answers += [str(u["model"]["messages"][-1].content) for u in updates if "model" in u]
    return answers


@pytest.fixture
def llm(provider: Provider) -> Any:
    """ChatOpenAI pointed at the provider."""
    return chat_model(provider.base_url, provider.api_key, provider.model)


def assert_streamed(llmtape: TapeView, stream: bool) -> None:
    assert all(call.body.get("stream", False) is stream for call in chat_calls(llmtape.calls))


@STREAM
def test_buffer(llm: Any, llmtape: TapeView, stream: bool) -> None:
    answers = converse(buffer_graph(llm), stream)
    assert_buffer(chat_requests(llmtape.calls), TURNS, answers)
    assert_streamed(llmtape, stream)
    assert answers[-1] == recorded_answer(chat_calls(llmtape.calls)[-1])


@STREAM
def test_window(llm: Any, llmtape: TapeView, stream: bool) -> None:
    answers = converse(window_graph(llm, WINDOW), stream)
    assert_window(chat_requests(llmtape.calls), TURNS, answers, WINDOW)
    assert_streamed(llmtape, stream)
    assert answers[-1] == recorded_answer(chat_calls(llmtape.calls)[-1])


@STREAM
def test_summary(llm: Any, llmtape: TapeView, stream: bool) -> None:
    answers = converse(summary_graph(llm), stream)
    summaries = [recorded_answer(call).strip() for call in summary_calls(llmtape.calls)]
    assert len(summaries) == len(TURNS)
    assert_summary(chat_requests(llmtape.calls), TURNS, summaries)
    assert_streamed(llmtape, stream)
    assert answers[-1] == recorded_answer(chat_calls(llmtape.calls)[-1])


@STREAM
def test_summary_buffer(llm: Any, llmtape: TapeView, stream: bool) -> None:
    answers = converse(summary_buffer_graph(llm, TOKEN_BUDGET), stream)
    assert_summary_buffer(llmtape.calls)
    assert_streamed(llmtape, stream)
    assert answers[-1] == recorded_answer(chat_calls(llmtape.calls)[-1])


def test_threads_are_kept_apart(llm: Any, llmtape: TapeView) -> None:
    graph = buffer_graph(llm)
    for ankur, james in zip(TURNS[:2], OTHER_TURNS, strict=True):
        converse(graph, False, "ankur", [ankur])
        converse(graph, False, "james", [james])
    assert_sessions_apart(llmtape.calls)
