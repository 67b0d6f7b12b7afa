"""cohere, sync and async (v2 chat, chat_stream, embed, rerank; v1 rerank): recorded against the loopback
Cohere stand-in with llmtape's default settings, then replayed with the server gone and sockets refused."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import cohere
import httpx
import pytest
from cohere.core.api_error import ApiError

import llmtape
from tests.clients.conftest import STACK
from tests.conftest import NetworkGuard, Server
from tests.e2e.roundtrip import round_trip

MODEL = "command-a-03-2025"
QUESTION = "What is the weather in Paris?"
KINDS = ["sync", "async"]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
DOCUMENTS = ["a red car", "red apple pie", "the blue sea"]


@pytest.fixture(autouse=True)
def sdk_parses_quietly(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails the test when the cohere SDK logged a warning, as it does for a stream event it cannot parse."""
    with caplog.at_level(logging.WARNING):
        yield
    noted = [r.getMessage() for r in caplog.records if r.name == "root" or r.name.startswith("cohere")]
    assert noted == []


def root(server: Server) -> str:
    return f"http://127.0.0.1:{server.port}"


def perform(
    kind: str,
    server: Server,
    sync: Callable[[cohere.ClientV2], Any],
    aio: Callable[[cohere.AsyncClientV2], Awaitable[Any]],
) -> Any:
    """Run one use of the SDK with a fresh client that does not retry."""
    if kind == "sync":
        with cohere.ClientV2(api_key="test-key", base_url=root(server), max_retries=0) as client:
            return sync(client)

    async def go() -> Any:
        async with cohere.AsyncClientV2(api_key="test-key", base_url=root(server), max_retries=0) as client:
            return await aio(client)

    return asyncio.run(go())


def summarize(events: list[Any]) -> dict[str, Any]:
    """What a streaming application assembles from the events: text, tool plan and calls, finish, usage."""
    text, plan, calls, finish, usage = [], [], [], None, None
    for event in events:
        delta = getattr(event, "delta", None)
        message = delta.message if event.type != "message-end" and delta else None
        if event.type == "content-delta":
            text.append(message.content.text)
        elif event.type == "tool-plan-delta":
            plan.append(message.tool_plan)
        elif event.type == "tool-call-start":
            calls.append(message.tool_calls.model_dump(mode="json"))
        elif event.type == "tool-call-delta":
            calls[-1]["function"]["arguments"] += message.tool_calls.function.arguments
        elif event.type == "message-end":
            finish, usage = event.delta.finish_reason, event.delta.usage.model_dump(mode="json")
    kinds = [event.type for event in events]
    return {
        "text": "".join(text),
        "plan": "".join(plan),
        "calls": calls,
        "finish": finish,
        "usage": usage,
        "kinds": kinds,
    }


def answered(response: Any) -> dict[str, Any]:
    """The same view of a whole chat response."""
    message = response.message
    calls = [call.model_dump(mode="json") for call in message.tool_calls or []]
    text = "".join(item.text for item in message.content or [])
    usage = response.usage.model_dump(mode="json")
    return {
        "text": text,
        "plan": message.tool_plan or "",
        "calls": calls,
        "finish": response.finish_reason,
        "usage": usage,
    }


def chat(
    kind: str, server: Server, stream: bool, messages: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    options = {"model": MODEL, "messages": messages, **extra}

    def sync(client: cohere.ClientV2) -> dict[str, Any]:
        if stream:
            return summarize(list(client.chat_stream(**options)))
        return answered(client.chat(**options))

    async def aio(client: cohere.AsyncClientV2) -> dict[str, Any]:
        if stream:
            return summarize([event async for event in client.chat_stream(**options)])
        return answered(await client.chat(**options))

    return perform(kind, server, sync, aio)


def stored(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("kind", KINDS)
def test_chat_replays_offline(
    kind: str, stream: bool, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    messages = [{"role": "user", "content": QUESTION}]
    got = round_trip(server, tmp_path, network, lambda: chat(kind, server, stream, messages))
    expected = f"You said: {QUESTION}. This conversation has 1 messages."
    assert (got["text"], got["finish"], got["calls"]) == (expected, "COMPLETE", [])
    billed = got["usage"]["billed_units"]
    assert (billed["input_tokens"], billed["output_tokens"]) == (len(QUESTION.split()), len(expected.split()))
    if stream:
        middle = ["content-delta"] * len(expected.split())
        assert got["kinds"] == ["message-start", "content-start", *middle, "content-end", "message-end"]
    assert [r["request"]["endpoint"] for r in stored(tmp_path)] == ["/v2/chat"]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("kind", KINDS)
def test_tool_use_two_turns_replays_offline(
    kind: str, stream: bool, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    def conversation() -> tuple[dict[str, Any], dict[str, Any]]:
        asked = {"role": "user", "content": QUESTION}
        first = chat(kind, server, stream, [asked], tools=TOOLS)
        (call,) = first["calls"]
        called = {"role": "assistant", "tool_plan": first["plan"], "tool_calls": [call]}
        result = {"type": "document", "document": {"data": {"forecast": "sunny"}}}
        told = {"role": "tool", "tool_call_id": call["id"], "content": [result]}
        return first, chat(kind, server, stream, [asked, called, told], tools=TOOLS)

    first, second = round_trip(server, tmp_path, network, conversation)
    (call,) = first["calls"]
    assert (call["type"], call["function"]["name"]) == ("function", "get_weather")
    assert json.loads(call["function"]["arguments"]) == {"city": QUESTION}
    assert call["id"].startswith("get_weather_")
    assert (first["plan"], first["finish"]) == ("I will use the get_weather tool to answer.", "TOOL_CALL")
    assert (second["text"], second["finish"]) == ('The tool said: {"forecast": "sunny"}', "COMPLETE")
    if stream:
        assert "tool-call-end" in first["kinds"]


@pytest.mark.parametrize("kind", KINDS)
def test_embed_replays_offline(kind: str, server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    texts = ["one two", "three"]
    options = {
        "model": "embed-v4.0",
        "texts": texts,
        "input_type": "search_document",
        "embedding_types": ["float"],
    }

    async def aio(client: cohere.AsyncClientV2) -> Any:
        return (await client.embed(**options)).model_dump(mode="json")

    got = round_trip(
        server,
        tmp_path,
        network,
        lambda: perform(kind, server, lambda c: c.embed(**options).model_dump(mode="json"), aio),
    )
    assert got["embeddings"]["float"] == [[len(t) / 10, 0.5, -0.25, len(t.split()) / 10] for t in texts]
    assert got["texts"] == texts
    assert got["meta"]["billed_units"]["input_tokens"] == sum(len(text.split()) for text in texts)
    assert [r["request"]["endpoint"] for r in stored(tmp_path)] == ["/v2/embed"]


def rerank(kind: str, server: Server, version: int) -> Any:
    """The ranking an application reads: (index, score, document text) per result."""
    options = {"model": "rerank-v3.5", "query": "red apple", "documents": DOCUMENTS, "top_n": 2}

    def ranking(response: Any) -> list[tuple[int, float, str | None]]:
        return [
            (r.index, r.relevance_score, getattr(r, "document", None) and r.document.text)
            for r in response.results
        ]

    if version == 2:
        return perform(
            kind,
            server,
            lambda c: ranking(c.rerank(**options)),
            lambda c: _ranking(ranking, c.rerank(**options)),
        )
    if kind == "sync":
        with cohere.Client(api_key="test-key", base_url=root(server), max_retries=0) as client:
            return ranking(client.rerank(**options, return_documents=True))

    async def go() -> Any:
        async with cohere.AsyncClient(api_key="test-key", base_url=root(server), max_retries=0) as client:
            return ranking(await client.rerank(**options, return_documents=True))

    return asyncio.run(go())


async def _ranking(ranking: Callable[[Any], Any], response: Awaitable[Any]) -> Any:
    return ranking(await response)


@pytest.mark.parametrize("version", [1, 2], ids=["v1", "v2"])
@pytest.mark.parametrize("kind", KINDS)
def test_rerank_replays_offline(
    kind: str, version: int, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    got = round_trip(server, tmp_path, network, lambda: rerank(kind, server, version))
    documents = ["red apple pie", "a red car"] if version == 1 else [None, None]
    assert got == [(1, 1.0, documents[0]), (0, 0.5, documents[1])]
    assert [r["request"]["endpoint"] for r in stored(tmp_path)] == [f"/v{version}/rerank"]


ERRORS = {
    "bad-request": ({}, [], 400, cohere.BadRequestError),
    "unauthorized": ({"x-test-status": "401"}, None, 401, cohere.UnauthorizedError),
    "rate-limited": ({"x-test-status": "429"}, None, 429, cohere.TooManyRequestsError),
    "server-error": ({"x-test-status": "500"}, None, 500, cohere.InternalServerError),
}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("case", sorted(ERRORS))
@pytest.mark.parametrize("kind", KINDS)
def test_errors_replay_as_the_same_exception(
    kind: str, case: str, stream: bool, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    headers, messages, status, expected = ERRORS[case]

    def failing() -> tuple[str, int | None, Any]:
        asked = [{"role": "user", "content": QUESTION}] if messages is None else messages
        try:
            chat(
                kind, server, stream, asked, request_options={"additional_headers": headers, "max_retries": 0}
            )
        except ApiError as error:
            return type(error).__name__, error.status_code, error.body
        raise AssertionError("no error")

    name, code, body = round_trip(server, tmp_path, network, failing)
    assert (name, code) == (expected.__name__, status)
    assert set(body) == {"id", "message"}
    (recording,) = stored(tmp_path)
    assert recording["response"]["status"] == status


def test_the_async_client_uses_the_stack_of_this_environment(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a spy on the async HTTP stack this environment must use: aiohttp (through httpx-aiohttp) in
    # `main`, httpx's own pool without it
    has_aiohttp = importlib.util.find_spec("aiohttp") is not None
    assert has_aiohttp == (STACK == "main"), f"aiohttp importable: {has_aiohttp} in stack {STACK!r}"
    assert (importlib.util.find_spec("httpx_aiohttp") is not None) == has_aiohttp
    sent: list[str] = []
    if has_aiohttp:
        import aiohttp

        through = aiohttp.ClientSession.request

        def spy_aiohttp(session: aiohttp.ClientSession, method: str, url: Any, **kwargs: Any) -> Any:
            sent.append(f"aiohttp {url}")
            return through(session, method, url, **kwargs)

        monkeypatch.setattr(aiohttp.ClientSession, "request", spy_aiohttp)
    else:
        send = httpx.AsyncHTTPTransport.handle_async_request

        async def spy_httpx(transport: httpx.AsyncHTTPTransport, request: httpx.Request) -> Any:
            sent.append(f"httpx {request.url}")
            return await send(transport, request)

        monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", spy_httpx)
    # When the async client chats while recording
    with llmtape.tape(tmp_path, mode="record") as recording:
        got = chat("async", server, False, [{"role": "user", "content": QUESTION}])
    # Then it went out through that stack, and llmtape recorded it there
    stack = "aiohttp" if has_aiohttp else "httpx"
    assert sent == [f"{stack} {root(server)}/v2/chat"]
    assert [c.outcome for c in recording.calls] == [llmtape.Outcome.RECORDED]
    assert got["text"].startswith("You said:")
