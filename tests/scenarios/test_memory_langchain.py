"""The four memory strategies the tutorial's way: LangChain's RunnableWithMessageHistory and ChatOpenAI."""

from __future__ import annotations

from typing import Any

import pytest

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
from tests.scenarios.conversation import (
    OTHER_TURNS,
    TOKEN_BUDGET,
    TURNS,
    WINDOW,
)
from tests.scenarios.memory_langchain import (
    SummaryBufferMessageHistory,
    SummaryMessageHistory,
    chat_model,
    in_memory,
    sessions,
    window_pipeline,
    with_history,
)

# The tutorial's classes are deprecated; the warning is expected here and nowhere else.
pytestmark = pytest.mark.filterwarnings("ignore::langchain_core._api.deprecation.LangChainDeprecationWarning")
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])


def converse(
    pipeline: Any, stream: bool, configurable: dict[str, Any], turns: list[str] = TURNS
) -> list[str]:
    answers = []
    for turn in turns:
        config = {"configurable": configurable}
        if stream:
            answers.append(
                "".join(str(chunk.content) for chunk in pipeline.stream({"query": turn}, config=config))
            )
        else:
            answers.append(str(pipeline.invoke({"query": turn}, config=config).content))
    return answers


@pytest.fixture
def llm(provider: Provider) -> Any:
    """ChatOpenAI pointed at the provider."""
    return chat_model(provider.base_url, provider.api_key, provider.model)


@STREAM
def test_buffer(llm: Any, llmtape: TapeView, stream: bool) -> None:
    answers = converse(with_history(llm, sessions(in_memory)), stream, {"session_id": "1"})
    assert_buffer(chat_requests(llmtape.calls), TURNS, answers)
    assert answers[-1] == recorded_answer(chat_calls(llmtape.calls)[-1])


@STREAM
def test_window(llm: Any, llmtape: TapeView, stream: bool) -> None:
    answers = converse(window_pipeline(llm), stream, {"session_id": "1", "k": WINDOW})
    assert_window(chat_requests(llmtape.calls), TURNS, answers, WINDOW)
    assert answers[-1] == recorded_answer(chat_calls(llmtape.calls)[-1])


@STREAM
def test_summary(llm: Any, llmtape: TapeView, stream: bool) -> None:
    pipeline = with_history(llm, sessions(lambda: SummaryMessageHistory(llm=llm)))
    answers = converse(pipeline, stream, {"session_id": "1"})
    summaries = [recorded_answer(call).strip() for call in summary_calls(llmtape.calls)]
    assert len(summaries) == len(TURNS)
    assert_summary(chat_requests(llmtape.calls), TURNS, summaries)
    assert answers[-1] == recorded_answer(chat_calls(llmtape.calls)[-1])


@STREAM
def test_summary_buffer(llm: Any, llmtape: TapeView, stream: bool) -> None:
    make = lambda: SummaryBufferMessageHistory(llm=llm, budget=TOKEN_BUDGET)  # noqa: E731
    answers = converse(with_history(llm, sessions(make)), stream, {"session_id": "1"})
    assert_summary_buffer(llmtape.calls)
    assert answers[-1] == recorded_answer(chat_calls(llmtape.calls)[-1])


def test_sessions_are_kept_apart(llm: Any, llmtape: TapeView) -> None:
    pipeline = with_history(llm, sessions(in_memory))
    for ankur, james in zip(TURNS[:2], OTHER_TURNS, strict=True):
        converse(pipeline, False, {"session_id": "ankur"}, [ankur])
        converse(pipeline, False, {"session_id": "james"}, [james])
    assert_sessions_apart(llmtape.calls)
