"""langchain-groq's ChatGroq (on groq 0.x and httpx, path ``/openai/v1/chat/completions``): invoke, stream,
ainvoke, astream, a tool call and the conversational-memory tutorial's conversation with history; recorded
against the live server with the default endpoints, then replayed with the server stopped and every
socket refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.chat_history import InMemoryChatMessageHistory
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables.history import RunnableWithMessageHistory
from langchain_core.tools import tool
from langchain_groq import ChatGroq

from tests.conftest import NetworkGuard, Server
from tests.e2e.roundtrip import round_trip
from tests.scenarios.conversation import SYSTEM, TURNS

PROMPT = "Name a colour"
CITED = "file-a1b2c3d4e5f6"


@tool
def knowledge_search(query: str) -> str:
    """Search the knowledge base."""
    return f"{CITED}: red, green and blue (asked: {query})."


def chat_model(server: Server, **http_clients: Any) -> ChatGroq:
    # The server's root: the groq SDK adds /openai/v1/chat/completions.
    return ChatGroq(
        base_url=f"http://127.0.0.1:{server.port}",
        api_key="test-key",  # type: ignore[arg-type]
        model="llama-3.3-70b-versatile",
        max_retries=0,
        **http_clients,
    )


def seen(message: BaseMessage) -> dict[str, Any]:
    """What an application reads from an answer: its text, tool calls, metadata and token usage (its
    ``id`` is LangChain's run id, new on every call; ChatGroq does not pass on the completion's id)."""
    tool_calls = [(c["name"], c["args"], c["id"]) for c in getattr(message, "tool_calls", [])]
    usage = getattr(message, "usage_metadata", None)
    return {
        "text": message.content,
        "tool_calls": tool_calls,
        "meta": message.response_metadata,
        "usage": usage,
    }


def invoke(server: Server) -> dict[str, Any]:
    with httpx.Client() as client:
        return seen(chat_model(server, http_client=client).invoke(PROMPT))


def stream(server: Server) -> dict[str, Any]:
    with httpx.Client() as client:
        chunks = list(chat_model(server, http_client=client).stream(PROMPT))
    return {**seen(sum(chunks[1:], chunks[0])), "pieces": len(chunks)}


async def ainvoke(server: Server) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        return seen(await chat_model(server, http_async_client=client).ainvoke(PROMPT))


async def astream(server: Server) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        chunks = [chunk async for chunk in chat_model(server, http_async_client=client).astream(PROMPT)]
    return {**seen(sum(chunks[1:], chunks[0])), "pieces": len(chunks)}


CALLS = {"invoke": invoke, "stream": stream, "ainvoke": ainvoke, "astream": astream}


@pytest.mark.parametrize("name", list(CALLS))
def test_chat(name: str, server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    recorded = round_trip(server, tmp_path, network, lambda: CALLS[name](server))
    assert recorded["text"] == f"You said: {PROMPT}. This conversation has 1 messages."
    assert recorded["meta"]["finish_reason"] == "stop"
    assert recorded["meta"]["system_fingerprint"] == "fp_f64f290af2"
    if "stream" in name:
        assert recorded["pieces"] > 5
    else:
        assert recorded["usage"] == {"input_tokens": 3, "output_tokens": 12, "total_tokens": 15}


def tool_loop(server: Server) -> list[dict[str, Any]]:
    """Ask, run the tool the model asks for, and send its result back for the answer."""
    with httpx.Client() as client:
        model = chat_model(server, http_client=client).bind_tools([knowledge_search])
        messages: list[BaseMessage] = [HumanMessage(PROMPT)]
        asked = model.invoke(messages)
        [call] = asked.tool_calls  # type: ignore[attr-defined]
        messages += [asked, ToolMessage(knowledge_search.invoke(call["args"]), tool_call_id=call["id"])]
        return [seen(asked), seen(model.invoke(messages))]


async def atool_loop(server: Server) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as client:
        model = chat_model(server, http_async_client=client).bind_tools([knowledge_search])
        messages: list[BaseMessage] = [HumanMessage(PROMPT)]
        chunks = [chunk async for chunk in model.astream(messages)]
        asked = sum(chunks[1:], chunks[0])
        [call] = asked.tool_calls  # type: ignore[attr-defined]
        result = await knowledge_search.ainvoke(call["args"])
        messages += [AIMessage(content="", tool_calls=[call]), ToolMessage(result, tool_call_id=call["id"])]
        return [seen(asked), seen(await model.ainvoke(messages))]


@pytest.mark.parametrize("call", [tool_loop, atool_loop], ids=["sync", "async-stream"])
def test_tool_call(call: Any, server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    asked, answered = round_trip(server, tmp_path, network, lambda: call(server))
    [(name, arguments, call_id)] = asked["tool_calls"]
    assert (name, arguments) == ("knowledge_search", {"query": PROMPT})
    assert call_id.startswith("call_")
    assert asked["meta"]["finish_reason"] == "tool_calls"
    assert answered["text"].startswith("According to the search,")
    assert answered["text"].endswith(f"<|{CITED}|>")


def conversation(server: Server) -> list[str]:
    """The tutorial's buffer memory: system prompt, the history so far, the new query."""
    with httpx.Client() as client:
        prompt = ChatPromptTemplate.from_messages(
            [("system", SYSTEM), MessagesPlaceholder(variable_name="history"), ("human", "{query}")]
        )
        history = InMemoryChatMessageHistory()
        pipeline = RunnableWithMessageHistory(
            prompt | chat_model(server, http_client=client),
            get_session_history=lambda session_id: history,
            input_messages_key="query",
            history_messages_key="history",
        )
        config = {"configurable": {"session_id": "ankur"}}
        return [str(pipeline.invoke({"query": turn}, config=config).content) for turn in TURNS]  # type: ignore[arg-type]


# RunnableWithMessageHistory and InMemoryChatMessageHistory are deprecated in langchain-core, yet they are
# what the tutorial, and most applications, use.
@pytest.mark.filterwarnings("ignore::langchain_core._api.deprecation.LangChainDeprecationWarning")
def test_conversation_with_history(server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    answers = round_trip(server, tmp_path, network, lambda: conversation(server))
    # Each request carries the system prompt and every earlier turn, answers included.
    assert answers == [
        f"You said: {turn}. This conversation has {2 * index + 2} messages."
        for index, turn in enumerate(TURNS)
    ]


def test_tool_arguments_are_json(server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    # The streamed tool call reaches LangChain as the very argument pieces the server sent.
    def pieces() -> list[str]:
        with httpx.Client() as client:
            model = chat_model(server, http_client=client).bind_tools([knowledge_search])
            return [
                str(c.tool_call_chunks[0]["args"] or "")
                for c in model.stream(PROMPT)
                if getattr(c, "tool_call_chunks", None)
            ]

    recorded = round_trip(server, tmp_path, network, pieces)
    assert json.loads("".join(recorded)) == {"query": PROMPT}
    assert len(recorded) > 2
