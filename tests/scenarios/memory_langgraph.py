"""The four memory strategies the way LangChain now recommends: LangGraph short-term memory.

Each graph is a StateGraph over MessagesState compiled with an InMemorySaver checkpointer, so
the conversation of each ``thread_id`` persists between invocations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, RemoveMessage, SystemMessage, trim_messages
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph

from tests.scenarios.conversation import SYSTEM, count_tokens
from tests.scenarios.memory_langchain import summarize


class SummaryState(MessagesState):
    summary: str


def tokens(messages: Sequence[BaseMessage]) -> int:
    """The offline token counter handed to trim_messages."""
    return sum(count_tokens(str(m.content)) for m in messages)


def _compile(builder: StateGraph[Any], last: str) -> Any:
    builder.add_edge(START, "model")
    if last != "model":
        builder.add_edge("model", last)
    return builder.compile(checkpointer=InMemorySaver())


def _prompt(summary: str, label: str) -> list[BaseMessage]:
    head: list[BaseMessage] = [SystemMessage(content=SYSTEM)]
    return head + ([SystemMessage(content=f"{label}: {summary}")] if summary else [])


def buffer_graph(llm: ChatOpenAI) -> Any:
    """Sends the whole thread."""

    def model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [llm.invoke([SystemMessage(content=SYSTEM), *state["messages"]])]}

    builder = StateGraph(MessagesState)
    builder.add_node("model", model)
    return _compile(builder, "model")


def window_graph(llm: ChatOpenAI, k: int) -> Any:
    """Sends the last ``k`` messages before the new one, cut by trim_messages."""

    def model(state: MessagesState) -> dict[str, Any]:
        window = trim_messages(state["messages"], strategy="last", token_counter=len, max_tokens=k + 1)
        return {"messages": [llm.invoke([SystemMessage(content=SYSTEM), *window])]}

    builder = StateGraph(MessagesState)
    builder.add_node("model", model)
    return _compile(builder, "model")


def summary_graph(llm: ChatOpenAI) -> Any:
    """After each answer, folds the exchange into a running summary and drops the messages."""

    def model(state: SummaryState) -> dict[str, Any]:
        prompt = _prompt(state.get("summary", ""), "Summary of the conversation so far")
        return {"messages": [llm.invoke([*prompt, *state["messages"]])]}

    def fold(state: SummaryState) -> dict[str, Any]:
        summary = summarize(llm, state.get("summary", ""), state["messages"])
        return {"summary": summary, "messages": [RemoveMessage(id=m.id) for m in state["messages"] if m.id]}

    builder = StateGraph(SummaryState)
    builder.add_node("model", model)
    builder.add_node("fold", fold)
    return _compile(builder, "fold")


def summary_buffer_graph(llm: ChatOpenAI, budget: int) -> Any:
    """Keeps the recent messages trim_messages allows within ``budget``; summarizes the rest."""

    def model(state: SummaryState) -> dict[str, Any]:
        prompt = _prompt(state.get("summary", ""), "Summary of earlier conversation")
        return {"messages": [llm.invoke([*prompt, *state["messages"]])]}

    def fold(state: SummaryState) -> dict[str, Any]:
        messages = state["messages"]
        kept = trim_messages(
            messages, strategy="last", token_counter=tokens, max_tokens=budget, start_on="human"
        )
        overflow = messages[: len(messages) - len(kept)]
        if not overflow:
            return {}
        summary = summarize(llm, state.get("summary", ""), overflow)
        return {"summary": summary, "messages": [RemoveMessage(id=m.id) for m in overflow if m.id]}

    builder = StateGraph(SummaryState)
    builder.add_node("model", model)
    builder.add_node("fold", fold)
    return _compile(builder, "fold")
