"""google-genai, sync and async, Gemini API and Vertex AI: recorded against the loopback Gemini stand-in with
llmtape's default settings, then replayed with the server gone and every socket refused."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from google import genai
from google.genai import errors, types
from google.oauth2.credentials import Credentials

import llmtape
from tests.clients.conftest import STACK
from tests.conftest import NetworkGuard, Server
from tests.e2e.roundtrip import round_trip

# google-genai defines a subclass of aiohttp.ClientSession for each session it opens, which aiohttp frowns on.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Inheritance class AiohttpClientSession from ClientSession is discouraged:DeprecationWarning"
)

MODEL = "gemini-2.5-flash"
QUESTION = "What is the capital of France?"
KINDS = ["sync", "async"]
WEATHER = types.Tool(
    function_declarations=[
        types.FunctionDeclaration(
            name="get_weather",
            description="The weather in a city.",
            parameters=types.Schema(type=types.Type.OBJECT, properties={"city": types.Schema(type="STRING")}),
        )
    ]
)

Client = genai.Client
AsyncClient = genai.client.AsyncClient


@pytest.fixture(autouse=True)
def sdk_parses_quietly(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails the test when google-genai logged a warning while it read an answer."""
    with caplog.at_level(logging.WARNING, logger="google_genai"):
        yield
    assert [r.getMessage() for r in caplog.records if r.name.startswith("google_genai")] == []


def root(server: Server) -> str:
    return f"http://127.0.0.1:{server.port}"


def gemini(server: Server, **options: Any) -> Client:
    return genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=root(server), **options))


def vertex(server: Server) -> Client:
    """A Vertex AI client that needs no network for its credentials: a fixed OAuth token, never refreshed
    (``AnonymousCredentials`` will not do: google-genai asks them for a token, and they cannot refresh)."""
    return genai.Client(
        vertexai=True,
        project="test-project",
        location="us-central1",
        credentials=Credentials(token="test-token"),
        http_options=types.HttpOptions(base_url=root(server)),
    )


def perform(
    kind: str,
    make: Callable[[], Client],
    sync: Callable[[Client], Any],
    aio: Callable[[AsyncClient], Awaitable[Any]],
) -> Any:
    """Run one use of the SDK with a fresh client, through ``client.models`` or ``client.aio.models``."""
    with make() as client:
        if kind == "sync":
            return sync(client)

        async def go() -> Any:
            async with client.aio as asynchronous:
                return await aio(asynchronous)

        return asyncio.run(go())


def seen(response: types.GenerateContentResponse) -> dict[str, Any]:
    """What an application can read from an answer: all of it but the transport's headers."""
    return response.model_dump(mode="json", exclude={"sdk_http_response"})


def generate(kind: str, make: Callable[[], Client], stream: bool, contents: Any, **config: Any) -> Any:
    settings = types.GenerateContentConfig(**config) if config else None
    options = {"model": MODEL, "contents": contents, "config": settings}

    def sync(client: Client) -> Any:
        if stream:
            return [seen(chunk) for chunk in client.models.generate_content_stream(**options)]
        return seen(client.models.generate_content(**options))

    async def aio(client: AsyncClient) -> Any:
        if stream:
            return [seen(chunk) async for chunk in await client.models.generate_content_stream(**options)]
        return seen(await client.models.generate_content(**options))

    return perform(kind, make, sync, aio)


def whole(answer: Any) -> dict[str, Any]:
    """The text, function calls, finish and usage of an answer, streamed (a list of chunks) or not."""
    chunks = answer if isinstance(answer, list) else [answer]
    parts = [part for chunk in chunks for part in chunk["candidates"][0]["content"]["parts"]]
    return {
        "text": "".join(part["text"] or "" for part in parts),
        "calls": [part["function_call"] for part in parts if part["function_call"]],
        "finish": chunks[-1]["candidates"][0]["finish_reason"],
        "usage": chunks[-1]["usage_metadata"],
        "ids": {chunk["response_id"] for chunk in chunks},
    }


def stored_endpoints(directory: Path) -> list[str]:
    return sorted(json.loads(path.read_text())["request"]["endpoint"] for path in directory.glob("*.json"))


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("kind", KINDS)
def test_generate_content_replays_offline(
    kind: str, stream: bool, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    answer = round_trip(
        server, tmp_path, network, lambda: generate(kind, lambda: gemini(server), stream, QUESTION)
    )
    got, expected = whole(answer), f"You said: {QUESTION}. This conversation has 1 turns."
    assert got["text"] == expected
    assert got["finish"] == "STOP"
    assert got["usage"]["prompt_token_count"] == len(QUESTION.split())
    assert got["usage"]["candidates_token_count"] == len(expected.split())
    assert len(got["ids"]) == 1  # every chunk of one answer carries its id
    if stream:
        assert len(answer) == len(expected.split())  # a word a chunk
    method = "streamGenerateContent" if stream else "generateContent"
    assert stored_endpoints(tmp_path) == [f"/v1/models/{MODEL}:{method}"]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("kind", KINDS)
def test_function_calling_two_turns_replays_offline(
    kind: str, stream: bool, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    def conversation() -> tuple[Any, Any]:
        asked = types.Content(role="user", parts=[types.Part.from_text(text="Paris")])
        first = whole(generate(kind, lambda: gemini(server), stream, [asked], tools=[WEATHER]))
        (call,) = first["calls"]
        called = types.Content(role="model", parts=[types.Part(function_call=types.FunctionCall(**call))])
        result = types.Part.from_function_response(name=call["name"], response={"forecast": "sunny, 21 C"})
        turns = [asked, called, types.Content(role="user", parts=[result])]
        return first, whole(generate(kind, lambda: gemini(server), stream, turns, tools=[WEATHER]))

    first, second = round_trip(server, tmp_path, network, conversation)
    assert [(c["name"], c["args"]) for c in first["calls"]] == [("get_weather", {"city": "Paris"})]
    assert first["text"] == ""
    assert second["calls"] == []
    assert second["text"] == 'The function get_weather returned {"forecast": "sunny, 21 C"}.'
    assert first["ids"] != second["ids"]


@pytest.mark.parametrize("kind", KINDS)
def test_count_tokens_replays_offline(
    kind: str, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    def count() -> Any:
        return perform(
            kind,
            lambda: gemini(server),
            lambda c: c.models.count_tokens(model=MODEL, contents=QUESTION).total_tokens,
            lambda c: _total_tokens(c.models.count_tokens(model=MODEL, contents=QUESTION)),
        )

    assert round_trip(server, tmp_path, network, count) == len(QUESTION.split())
    assert stored_endpoints(tmp_path) == [f"/v1/models/{MODEL}:countTokens"]


async def _total_tokens(counted: Awaitable[types.CountTokensResponse]) -> int | None:
    return (await counted).total_tokens


def embed(kind: str, make: Callable[[], Client], model: str, contents: Any) -> list[list[float] | None]:
    def values(response: types.EmbedContentResponse) -> list[list[float] | None]:
        return [embedding.values for embedding in response.embeddings or []]

    async def aio(client: AsyncClient) -> list[list[float] | None]:
        return values(await client.models.embed_content(model=model, contents=contents))

    return perform(kind, make, lambda c: values(c.models.embed_content(model=model, contents=contents)), aio)


@pytest.mark.parametrize("contents", [["one two"], ["one two", "three"]], ids=["one", "several"])
@pytest.mark.parametrize("kind", KINDS)
def test_embed_content_replays_offline(
    kind: str, contents: list[str], server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    model = "gemini-embedding-001"
    vectors = round_trip(
        server, tmp_path, network, lambda: embed(kind, lambda: gemini(server), model, contents)
    )
    assert vectors == [[len(text) / 10, 0.5, -0.25, len(text.split()) / 10] for text in contents]
    # The Gemini API embeds through the batch method, however many contents there are.
    assert stored_endpoints(tmp_path) == [f"/v1/models/{model}:batchEmbedContents"]


@pytest.mark.parametrize("kind", KINDS)
def test_vertex_ai_replays_offline(kind: str, server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    def session() -> dict[str, Any]:
        make = lambda: vertex(server)  # noqa: E731
        return {
            "whole": whole(generate(kind, make, False, QUESTION)),
            "stream": whole(generate(kind, make, True, QUESTION)),
            "one": embed(kind, make, "gemini-embedding-001", "one two"),
            "several": embed(kind, make, "gemini-embedding-001", ["one two", "three"]),
            "tokens": perform(
                kind,
                make,
                lambda c: c.models.count_tokens(model=MODEL, contents=QUESTION).total_tokens,
                lambda c: _total_tokens(c.models.count_tokens(model=MODEL, contents=QUESTION)),
            ),
        }

    seen_by_app = round_trip(server, tmp_path, network, session)
    for answer in seen_by_app["whole"], seen_by_app["stream"]:
        assert answer["text"] == f"You said: {QUESTION}. This conversation has 1 turns."
        assert answer["usage"]["traffic_type"] == "ON_DEMAND"
    assert seen_by_app["one"] == [[0.7, 0.5, -0.25, 0.2]]
    assert seen_by_app["several"] == [[0.7, 0.5, -0.25, 0.2], [0.5, 0.5, -0.25, 0.1]]
    assert seen_by_app["tokens"] == len(QUESTION.split())
    prefix = "/v1beta1/projects/test-project/locations/us-central1/publishers/google/models"
    assert stored_endpoints(tmp_path) == sorted(
        [
            f"{prefix}/{MODEL}:generateContent",
            f"{prefix}/{MODEL}:streamGenerateContent",
            f"{prefix}/gemini-embedding-001:embedContent",
            f"{prefix}/gemini-embedding-001:batchEmbedContents",
            f"{prefix}/{MODEL}:countTokens",
        ]
    )


ERRORS = {
    "bad-request": ({"x-test-status": "400"}, MODEL, 400, "INVALID_ARGUMENT", errors.ClientError),
    "not-found": ({}, "missing-model", 404, "NOT_FOUND", errors.ClientError),
    "rate-limited": ({"x-test-status": "429"}, MODEL, 429, "RESOURCE_EXHAUSTED", errors.ClientError),
    "server-error": ({"x-test-status": "500"}, MODEL, 500, "INTERNAL", errors.ServerError),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
@pytest.mark.parametrize("kind", KINDS)
def test_errors_replay_as_the_same_exception(
    kind: str, case: str, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    headers, model, code, status, expected = ERRORS[case]

    def failing() -> tuple[str, int, str | None, str | None, Any]:
        def sync(client: Client) -> Any:
            return client.models.generate_content(model=model, contents=QUESTION)

        async def aio(client: AsyncClient) -> Any:
            return await client.models.generate_content(model=model, contents=QUESTION)

        try:
            perform(kind, lambda: gemini(server, headers=headers), sync, aio)
        except errors.APIError as error:
            return type(error).__name__, error.code, error.status, error.message, error.details
        raise AssertionError("no error")

    name, got_code, got_status, message, details = round_trip(server, tmp_path, network, failing)
    assert (name, got_code, got_status) == (expected.__name__, code, status)
    assert message
    assert details["error"]["code"] == code
    (recording,) = [json.loads(path.read_text()) for path in tmp_path.glob("*.json")]
    assert recording["response"]["status"] == code


def stream_as_array(library: str, kind: str, server: Server, text: str) -> Any:
    """The chunks of a stream asked for without ``alt=sse``: one JSON array, sent an element at a time."""
    url = f"{root(server)}/v1beta/models/{MODEL}:streamGenerateContent"
    # The key travels in the query string here, as some callers send it.
    options = {
        "params": {"key": "test-key"},
        "json": {"contents": [{"role": "user", "parts": [{"text": text}]}]},
    }
    module: Any = httpx2 if library == "httpx2" else httpx
    if kind == "sync":
        with module.Client() as client, client.stream("POST", url, **options) as response:
            return response.status_code, response.headers["content-type"], json.loads(response.read())

    async def go() -> Any:
        async with module.AsyncClient() as client, client.stream("POST", url, **options) as response:
            return response.status_code, response.headers["content-type"], json.loads(await response.aread())

    return asyncio.run(go())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_a_stream_sent_as_a_json_array_replays_offline(
    library: str, kind: str, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    status, content_type, chunks = round_trip(
        server, tmp_path, network, lambda: stream_as_array(library, kind, server, QUESTION)
    )
    assert (status, content_type) == (200, "application/json; charset=UTF-8")
    text = "".join(chunk["candidates"][0]["content"]["parts"][0]["text"] for chunk in chunks)
    assert text == f"You said: {QUESTION}. This conversation has 1 turns."
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    (recording,) = [json.loads(path.read_text()) for path in tmp_path.glob("*.json")]
    assert "test-key" not in json.dumps(recording)


def test_the_sse_and_array_forms_of_one_request_replay_each_as_asked(
    server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    url = f"{root(server)}/v1beta/models/{MODEL}:streamGenerateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": QUESTION}]}]}

    def both() -> list[tuple[str, str]]:
        with httpx2.Client(headers={"x-goog-api-key": "test-key"}) as client:
            answers = [client.post(url, params={"alt": "sse"}, json=body), client.post(url, json=body)]
            return [(answer.headers["content-type"], answer.text) for answer in answers]

    (sse_type, sse_text), (array_type, array_text) = round_trip(server, tmp_path, network, both)
    assert sse_type.startswith("text/event-stream")
    assert sse_text.startswith("data: {")
    assert array_type.startswith("application/json")
    assert json.loads(array_text)[-1]["candidates"][0]["finishReason"] == "STOP"


@pytest.mark.parametrize("kind", KINDS)
def test_a_retry_after_429_replays_the_429_then_the_answer(
    kind: str, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    retry = types.HttpRetryOptions(attempts=2, initial_delay=0, max_delay=0, jitter=0)
    make = lambda: gemini(server, headers={"x-test-fail-first": "429"}, retry_options=retry)  # noqa: E731
    answer = whole(round_trip(server, tmp_path, network, lambda: generate(kind, make, False, QUESTION)))
    assert answer["text"].startswith(f"You said: {QUESTION}")
    statuses = {
        path.name.count("."): json.loads(path.read_text())["response"]["status"]
        for path in tmp_path.glob("*.json")
    }
    assert statuses == {1: 429, 2: 200}  # <key>.json, then <key>.2.json


def test_the_async_client_uses_the_stack_of_this_environment(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a spy on the async HTTP stack this environment must use: aiohttp in `main`, httpx2 without it
    has_aiohttp = importlib.util.find_spec("aiohttp") is not None
    assert has_aiohttp == (STACK == "main"), f"aiohttp importable: {has_aiohttp} in stack {STACK!r}"
    sent: list[str] = []
    if has_aiohttp:
        import aiohttp

        through = aiohttp.ClientSession.request

        def spy_aiohttp(session: aiohttp.ClientSession, method: str, url: Any, **kwargs: Any) -> Any:
            sent.append(f"aiohttp {url}")
            return through(session, method, url, **kwargs)

        monkeypatch.setattr(aiohttp.ClientSession, "request", spy_aiohttp)
    else:
        send = httpx2.AsyncHTTPTransport.handle_async_request

        async def spy_httpx2(transport: httpx2.AsyncHTTPTransport, request: httpx2.Request) -> Any:
            sent.append(f"httpx2 {request.url}")
            return await send(transport, request)

        monkeypatch.setattr(httpx2.AsyncHTTPTransport, "handle_async_request", spy_httpx2)
    # When the async client generates content while recording
    with llmtape.tape(tmp_path, mode="record") as recording:
        got = whole(generate("async", lambda: gemini(server), False, QUESTION))
    # Then it went out through that stack, and llmtape recorded it there
    stack = "aiohttp" if has_aiohttp else "httpx2"
    assert sent == [f"{stack} {root(server)}/v1/models/{MODEL}:generateContent"]
    assert [c.outcome for c in recording.calls] == [llmtape.Outcome.RECORDED]
    assert got["text"].startswith("You said:")
