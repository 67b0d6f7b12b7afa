"""The mistralai 3.x SDK (on httpx2): ``chat.complete``, ``chat.stream``, ``complete_async`` and
``stream_async`` with a tool, under llmtape's default configuration: a tool-call conversation recorded
against the live server replays offline, and the application sees the same text, tool calls and usage."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from mistralai.client import Mistral

from tests.conftest import NetworkGuard, Server
from tests.e2e.roundtrip import round_trip

MODEL = "mistral-small-latest"
QUESTION = "What is the weather in Paris?"
TOOL_RESULT = "file-0123456789ab: sunny, 21 degrees"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "knowledge_search",
            "description": "Search the knowledge base.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    }
]


def seen(
    text: Any, calls: list[Any], finish: Any, usage: Any, pieces: list[str] | None = None
) -> dict[str, Any]:
    """What an application takes from an answer: text (and its pieces), tool calls, finish and usage."""
    tools = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls]
    tokens = (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
    return {"text": text, "pieces": pieces, "tools": tools, "finish": finish, "usage": tokens}


def seen_whole(response: Any) -> dict[str, Any]:
    choice = response.choices[0]
    return seen(choice.message.content, choice.message.tool_calls or [], choice.finish_reason, response.usage)


def seen_chunks(chunks: list[Any]) -> dict[str, Any]:
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    pieces = [d.content for d in deltas if isinstance(d.content, str) and d.content]
    calls = [call for d in deltas for call in d.tool_calls or []]
    finish = next(c.choices[0].finish_reason for c in reversed(chunks) if c.choices)
    usage = next(c.usage for c in reversed(chunks) if c.usage)  # Mistral sends it with the last chunk
    return seen("".join(pieces), calls, finish, usage, pieces)


def settings() -> dict[str, Any]:
    return {"model": MODEL, "tools": TOOLS}


def complete(client: Mistral, messages: list[dict[str, Any]]) -> dict[str, Any]:
    return seen_whole(client.chat.complete(messages=messages, **settings()))


def stream(client: Mistral, messages: list[dict[str, Any]]) -> dict[str, Any]:
    with client.chat.stream(messages=messages, **settings()) as events:
        return seen_chunks([event.data for event in events])


async def complete_async(client: Mistral, messages: list[dict[str, Any]]) -> dict[str, Any]:
    return seen_whole(await client.chat.complete_async(messages=messages, **settings()))


async def stream_async(client: Mistral, messages: list[dict[str, Any]]) -> dict[str, Any]:
    events = await client.chat.stream_async(messages=messages, **settings())
    async with events:
        return seen_chunks([event.data async for event in events])


def follow_up(messages: list[dict[str, Any]], answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation after the assistant's tool call, with the tool's result under that call's id."""
    call_id, name, arguments = answer["tools"][0]
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
    assistant = {"role": "assistant", "content": answer["text"] or "", "tool_calls": [call]}
    result = {"role": "tool", "tool_call_id": call_id, "name": name, "content": TOOL_RESULT}
    return [*messages, assistant, result]


Ask = Callable[[Mistral, list[dict[str, Any]]], dict[str, Any]]
AsyncAsk = Callable[[Mistral, list[dict[str, Any]]], Awaitable[dict[str, Any]]]


def talk(ask: Ask, server_url: str) -> list[dict[str, Any]]:
    """Ask a question the model answers with a tool call, then send the tool's result back."""
    messages = [{"role": "user", "content": QUESTION}]
    with Mistral(api_key="test-key", server_url=server_url) as client:
        first = ask(client, messages)
        return [first, ask(client, follow_up(messages, first))]


async def atalk(ask: AsyncAsk, server_url: str) -> list[dict[str, Any]]:
    messages = [{"role": "user", "content": QUESTION}]
    async with Mistral(api_key="test-key", server_url=server_url) as client:
        first = await ask(client, messages)
        return [first, await ask(client, follow_up(messages, first))]


@pytest.mark.parametrize("ask", [complete, stream, complete_async, stream_async], ids=lambda f: f.__name__)
def test_tool_conversation_replays_offline(
    ask: Callable[..., Any], server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    server_url = server.base_url.removesuffix("/v1")
    asynchronous = ask in (complete_async, stream_async)
    conversation = (lambda: atalk(ask, server_url)) if asynchronous else (lambda: talk(ask, server_url))
    # Given a conversation recorded against the live server, when it runs again with the server gone,
    # then it sees the same answers (round_trip compares them and checks no socket was opened)
    first, second = round_trip(server, tmp_path, network, conversation)
    assert [(name, arguments) for _, name, arguments in first["tools"]] == [
        ("knowledge_search", {"query": QUESTION})
    ]
    assert first["finish"] == "tool_calls"
    assert TOOL_RESULT in second["text"]
    assert second["tools"] == []
    assert second["finish"] == "stop"
    assert all(total > 0 for *_, total in (first["usage"], second["usage"]))
