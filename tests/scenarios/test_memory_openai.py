"""The four memory strategies on the plain openai SDK, streamed and not, sync and async."""

from __future__ import annotations

import asyncio

import openai
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
from tests.scenarios.conversation import OTHER_TURNS, TOKEN_BUDGET, TURNS, WINDOW
from tests.scenarios.memory_openai import (
    AsyncChatbot,
    BufferMemory,
    Chatbot,
    SummaryBufferMemory,
    SummaryMemory,
    WindowMemory,
    summarizer,
)

STREAM = pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])


def converse(bot: Chatbot | AsyncChatbot, stream: bool, session: str = "ankur") -> list[str]:
    if isinstance(bot, AsyncChatbot):

        async def run() -> list[str]:
            return [await bot.ask(session, turn, stream=stream) for turn in TURNS]

        return asyncio.run(run())
    return [bot.ask(session, turn, stream=stream) for turn in TURNS]


@STREAM
def test_buffer_sends_the_whole_history(
    client: openai.OpenAI, provider: Provider, llmtape: TapeView, stream: bool
) -> None:
    answers = converse(Chatbot(client, provider.model, BufferMemory), stream)
    assert_buffer(chat_requests(llmtape.calls), TURNS, answers)
    assert answers[-1] == recorded_answer(chat_calls(llmtape.calls)[-1])


@STREAM
def test_async_buffer(
    async_client: openai.AsyncOpenAI, provider: Provider, llmtape: TapeView, stream: bool
) -> None:
    answers = converse(AsyncChatbot(async_client, provider.model), stream)
    assert_buffer(chat_requests(llmtape.calls), TURNS, answers)
    assert answers == [recorded_answer(call) for call in llmtape.calls]


@STREAM
def test_window_forgets_the_introduction(
    client: openai.OpenAI, provider: Provider, llmtape: TapeView, stream: bool
) -> None:
    answers = converse(Chatbot(client, provider.model, lambda: WindowMemory(k=WINDOW)), stream)
    assert_window(chat_requests(llmtape.calls), TURNS, answers, WINDOW)
    assert answers[-1] == recorded_answer(chat_calls(llmtape.calls)[-1])


@STREAM
def test_summary_replaces_the_history(
    client: openai.OpenAI, provider: Provider, llmtape: TapeView, stream: bool
) -> None:
    summarize = summarizer(client, provider.model)
    answers = converse(Chatbot(client, provider.model, lambda: SummaryMemory(summarize)), stream)
    summaries = [recorded_answer(call).strip() for call in summary_calls(llmtape.calls)]
    assert len(summaries) == len(TURNS)
    assert_summary(chat_requests(llmtape.calls), TURNS, summaries)
    # Each summarization saw the previous summary and the turn just made.
    first = summary_calls(llmtape.calls)[1].body["messages"][1]["content"]
    assert summaries[0] in first
    assert f"user: {TURNS[1]}" in first
    assert f"assistant: {answers[1]}" in first


@STREAM
def test_summary_buffer_keeps_recent_turns_within_the_budget(
    client: openai.OpenAI, provider: Provider, llmtape: TapeView, stream: bool
) -> None:
    summarize = summarizer(client, provider.model)
    memory = lambda: SummaryBufferMemory(summarize, budget=TOKEN_BUDGET)  # noqa: E731
    answers = converse(Chatbot(client, provider.model, memory), stream)
    assert_summary_buffer(llmtape.calls)
    assert answers[-1] == recorded_answer(chat_calls(llmtape.calls)[-1])


def test_sessions_are_kept_apart(client: openai.OpenAI, provider: Provider, llmtape: TapeView) -> None:
    bot = Chatbot(client, provider.model, BufferMemory)
    bot.ask("ankur", TURNS[0])
    bot.ask("james", OTHER_TURNS[0])
    bot.ask("ankur", TURNS[1])
    bot.ask("james", OTHER_TURNS[1])
    assert_sessions_apart(llmtape.calls)
