"""bedrock-runtime clients of boto3 (sync, over urllib3) and aiobotocore (async, over aiohttp, or httpx2 when
asked): Converse, ConverseStream, InvokeModel and InvokeModelWithResponseStream recorded against the loopback
Bedrock stand-in with llmtape's default settings, then replayed with the server gone and sockets refused."""

from __future__ import annotations

import asyncio
import base64
import json
import string
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.httpxsession import HttpxSession
from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

import llmtape
from llmtape.format.recording import Recording, parse
from tests.conftest import NetworkGuard, Server, start_server
from tests.e2e.roundtrip import round_trip
from tests.fake_credentials import random_text
from tests.servers.bedrock import PADDING

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
QUESTION = "What is the weather in Paris?"
# aiobotocore reads an event stream through aiohttp's `content.iter_chunks()`, so its httpx session cannot
# stream one, with or without llmtape.
STREAM_KINDS = ["sync", "async"]
# aiobotocore's httpx session sends the whole URL as the request target (its "target" extension).
KINDS = [*STREAM_KINDS, "async-httpx"]
ONE_ATTEMPT = {"retries": {"total_max_attempts": 1}}
TOOLS = {
    "tools": [
        {
            "toolSpec": {
                "name": "get_weather",
                "description": "The weather in a city.",
                "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}},
            }
        }
    ]
}
STREAMS = {"converse_stream": "stream", "invoke_model_with_response_stream": "body"}


@pytest.fixture
def server() -> Iterator[Server]:
    """A fresh Bedrock stand-in for this test, which refuses requests signed without a session token."""
    live = start_server("--require-session-token", module="tests.servers.bedrock")
    yield live
    live.stop()


def credentials(seed: int = 0) -> dict[str, str]:
    """Dummy AWS credentials, different for each seed, none of them shaped like a real access key."""
    return {
        "aws_access_key_id": "testing" + random_text(13, string.ascii_uppercase, seed),
        "aws_secret_access_key": "testing-secret-" + random_text(25, seed=seed),
        "aws_session_token": "testing-token-" + random_text(40, seed=seed),
    }


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def converse_options(text: str, **extra: Any) -> dict[str, Any]:
    return {"modelId": MODEL, "messages": [user(text)], **extra}


def invoke_options(text: str) -> dict[str, Any]:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": text}],
    }
    return {"modelId": MODEL, "body": json.dumps(body), "contentType": "application/json"}


OPTIONS = {
    "converse": converse_options,
    "converse_stream": converse_options,
    "invoke_model": invoke_options,
    "invoke_model_with_response_stream": invoke_options,
}


def perform(
    kind: str,
    server: Server,
    sync: Callable[[Any], Any],
    aio: Callable[[Any], Awaitable[Any]],
    seed: int = 0,
) -> Any:
    """Run one use of the SDK with a fresh client that makes one attempt per call."""
    options = {
        "region_name": "us-east-1",
        "endpoint_url": f"http://127.0.0.1:{server.port}",
        **credentials(seed),
    }
    if kind == "sync":
        client = boto3.client("bedrock-runtime", config=Config(**ONE_ATTEMPT), **options)
        try:
            return sync(client)
        finally:
            client.close()

    stack = {"http_session_cls": HttpxSession} if kind == "async-httpx" else {}
    config = AioConfig(**ONE_ATTEMPT, **stack)

    async def go() -> Any:
        async with get_session().create_client("bedrock-runtime", config=config, **options) as client:
            return await aio(client)

    return asyncio.run(go())


def call(kind: str, server: Server, operation: str, options: dict[str, Any], seed: int = 0) -> Any:
    """What an application reads from one operation: the whole answer, or a stream's events in order and
    the error that ended it early (or None)."""

    def sync(client: Any) -> Any:
        return read(operation, getattr(client, operation)(**options))

    async def aio(client: Any) -> Any:
        return await aread(operation, await getattr(client, operation)(**options))

    return perform(kind, server, sync, aio, seed)


def read(operation: str, response: dict[str, Any]) -> Any:
    if operation == "invoke_model":
        return invoked(response, response["body"].read())
    if operation not in STREAMS:
        return without_metadata(response)
    events: list[dict[str, Any]] = []
    try:
        events.extend(response[STREAMS[operation]])
    except EventStreamError as error:
        return events, failure(error)
    return events, None


async def aread(operation: str, response: dict[str, Any]) -> Any:
    if operation == "invoke_model":
        return invoked(response, await response["body"].read())
    if operation not in STREAMS:
        return without_metadata(response)
    events: list[dict[str, Any]] = []
    try:
        async for event in response[STREAMS[operation]]:
            events.append(event)
    except EventStreamError as error:
        return events, failure(error)
    return events, None


def without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    """The answer without botocore's ``ResponseMetadata`` (its headers include the server's date)."""
    return {name: value for name, value in response.items() if name != "ResponseMetadata"}


def invoked(response: dict[str, Any], body: bytes) -> dict[str, Any]:
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    counts = [headers[f"x-amzn-bedrock-{kind}-token-count"] for kind in ("input", "output")]
    return {"body": json.loads(body), "contentType": response["contentType"], "token_counts": counts}


def failure(error: ClientError) -> tuple[str, str, int | None]:
    """An error's code, message and HTTP status, as botocore parsed them."""
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error.response["Error"]["Code"], error.response["Error"]["Message"], status


def decoded(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Anthropic events carried as ``bytes`` by InvokeModelWithResponseStream's chunks."""
    return [json.loads(event["chunk"]["bytes"]) for event in events]


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [next(iter(event)) for event in events]


def recordings(directory: Path) -> list[Recording]:
    return [parse(path.read_bytes(), path) for path in sorted(directory.glob("*.json"))]


@pytest.mark.parametrize("kind", KINDS)
def test_converse_replays_offline(kind: str, server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    got = round_trip(
        server, tmp_path, network, lambda: call(kind, server, "converse", converse_options(QUESTION))
    )
    expected = f"You said: {QUESTION}. This conversation has 1 messages."
    assert got["output"] == {"message": {"role": "assistant", "content": [{"text": expected}]}}
    assert got["stopReason"] == "end_turn"
    words = len(expected.split())
    assert got["usage"] == {"inputTokens": 6, "outputTokens": words, "totalTokens": 6 + words}
    assert set(got["metrics"]) == {"latencyMs"}
    (recording,) = recordings(tmp_path)
    assert recording["request"]["endpoint"] == f"/model/{MODEL}/converse"


@pytest.mark.parametrize("kind", KINDS)
def test_converse_tool_loop_replays_offline(
    kind: str, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    def conversation() -> tuple[dict[str, Any], dict[str, Any]]:
        first = call(kind, server, "converse", converse_options(QUESTION, toolConfig=TOOLS))
        asked = first["output"]["message"]
        (use,) = [block["toolUse"] for block in asked["content"] if "toolUse" in block]
        result = {"toolUseId": use["toolUseId"], "content": [{"json": {"forecast": "sunny"}}]}
        told = {"role": "user", "content": [{"toolResult": result}]}
        options = {"modelId": MODEL, "messages": [user(QUESTION), asked, told], "toolConfig": TOOLS}
        return first, call(kind, server, "converse", options)

    first, second = round_trip(server, tmp_path, network, conversation)
    text, tool = first["output"]["message"]["content"]
    assert text == {"text": "I will use get_weather."}
    assert (tool["toolUse"]["name"], tool["toolUse"]["input"]) == ("get_weather", {"city": QUESTION})
    assert tool["toolUse"]["toolUseId"].startswith("tooluse_")
    assert first["stopReason"] == "tool_use"
    assert second["output"]["message"]["content"] == [{"text": 'The tool said: {"forecast": "sunny"}'}]
    assert second["stopReason"] == "end_turn"
    assert len(recordings(tmp_path)) == 2


@pytest.mark.parametrize("tools", [False, True], ids=["text", "tool"])
@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_converse_stream_replays_offline(
    kind: str, tools: bool, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    options = converse_options(QUESTION, **({"toolConfig": TOOLS} if tools else {}))
    events, error = round_trip(
        server, tmp_path, network, lambda: call(kind, server, "converse_stream", options)
    )
    assert error is None
    pieces = [e["contentBlockDelta"]["delta"] for e in events if "contentBlockDelta" in e]
    if tools:
        assert kinds(events)[5:7] == ["contentBlockStop", "contentBlockStart"]
        assert events[6]["contentBlockStart"]["start"]["toolUse"]["name"] == "get_weather"
        arguments = "".join(piece["toolUse"]["input"] for piece in pieces if "toolUse" in piece)
        assert json.loads(arguments) == {"city": QUESTION}
    else:
        text = "".join(piece["text"] for piece in pieces)
        assert text == f"You said: {QUESTION}. This conversation has 1 messages."
        middle = ["contentBlockDelta"] * len(pieces)
        assert kinds(events) == ["messageStart", *middle, "contentBlockStop", "messageStop", "metadata"]
    assert events[-2] == {"messageStop": {"stopReason": "tool_use" if tools else "end_turn"}}
    assert set(events[-1]["metadata"]) == {"usage", "metrics"}


@pytest.mark.parametrize("kind", KINDS)
def test_invoke_model_replays_offline(
    kind: str, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    options = invoke_options(QUESTION)
    got = round_trip(server, tmp_path, network, lambda: call(kind, server, "invoke_model", options))
    body = got["body"]
    assert (body["type"], body["role"], body["stop_reason"]) == ("message", "assistant", "end_turn")
    assert body["content"] == [{"type": "text", "text": f"Echo: {QUESTION}"}]
    assert body["id"].startswith("msg_bdrk_")
    assert got["contentType"] == "application/json"
    assert got["token_counts"] == ["6", "7"]


@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_invoke_model_with_response_stream_replays_offline(
    kind: str, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    options = invoke_options(QUESTION)
    operation = "invoke_model_with_response_stream"
    events, error = round_trip(server, tmp_path, network, lambda: call(kind, server, operation, options))
    assert error is None
    assert set(kinds(events)) == {"chunk"}
    inner = decoded(events)
    deltas = [event["delta"]["text"] for event in inner if event["type"] == "content_block_delta"]
    assert "".join(deltas) == f"Echo: {QUESTION}"
    assert [event["type"] for event in inner] == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * len(deltas),
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert inner[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 7


ERRORS = {
    "throttle": ("ThrottlingException", "Too many requests, please wait before trying again.", 429),
    "invalid": ("ValidationException", "Malformed input request, please reformat your input.", 400),
}


@pytest.mark.parametrize("trigger", sorted(ERRORS))
@pytest.mark.parametrize("operation", sorted(OPTIONS))
@pytest.mark.parametrize("kind", KINDS)
def test_errors_replay_as_the_same_client_error(
    kind: str, operation: str, trigger: str, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    options = OPTIONS[operation](f"{QUESTION} [{trigger}]")

    def failing() -> tuple[str, str, int | None]:
        try:
            call(kind, server, operation, options)
        except ClientError as error:
            return failure(error)
        raise AssertionError("no error")

    assert round_trip(server, tmp_path, network, failing) == ERRORS[trigger]
    (recording,) = recordings(tmp_path)
    assert recording["response"]["status"] == ERRORS[trigger][2]
    assert recording["response"]["headers"]["x-amzn-errortype"].startswith(f"{ERRORS[trigger][0]}:")


@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_an_error_inside_a_stream_replays_after_the_same_events(
    kind: str, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    options = converse_options(f"{QUESTION} [break]")
    events, error = round_trip(
        server, tmp_path, network, lambda: call(kind, server, "converse_stream", options)
    )
    assert kinds(events) == ["messageStart", "contentBlockDelta", "contentBlockDelta"]
    assert error == ("modelStreamErrorException", "The model stopped in the middle of its answer.", None)
    (recording,) = recordings(tmp_path)
    last = recording["response"]["body"][-1]
    assert last["__event__"] == "modelStreamErrorException"
    assert last["__headers__"][":message-type"] == "exception"
    assert last["__data__"] == {"message": "The model stopped in the middle of its answer."}


def record_every_operation(kind: str, server: Server, directory: Path) -> None:
    with llmtape.tape(directory, mode="record") as recording:
        for operation, options in OPTIONS.items():
            call(kind, server, operation, options(QUESTION))
    assert [c.outcome for c in recording.calls] == [llmtape.Outcome.RECORDED] * len(OPTIONS)
    assert server.served() == len(OPTIONS)  # one attempt each


@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_no_credentials_or_signatures_are_stored(kind: str, server: Server, tmp_path: Path) -> None:
    record_every_operation(kind, server, tmp_path)
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(files) >= len(OPTIONS)
    forbidden = [
        *credentials().values(),
        "AWS4-HMAC-SHA256",
        "Signature=",
        "x-amz-date",
        "x-amz-security-token",
    ]
    for path in files:
        content = path.read_text().lower()
        assert [word for word in forbidden if word.lower() in content] == [], path.name
    for recording in recordings(tmp_path):
        assert set(recording["request"]["headers"]) <= {"content-type"}


@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_replay_ignores_the_credentials_and_the_signing_date(
    kind: str, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    # Given every operation recorded with one set of credentials
    record_every_operation(kind, server, tmp_path)
    server.stop()
    network.block()
    # When they are replayed with other credentials, signed at a later second (X-Amz-Date has seconds)
    time.sleep(1.1)
    with llmtape.tape(tmp_path) as replay:
        for operation, options in OPTIONS.items():
            call(kind, server, operation, options(QUESTION), seed=1)
    # Then every call replays, offline
    assert [c.outcome for c in replay.calls] == [llmtape.Outcome.REPLAYED] * len(OPTIONS)
    assert network.attempts == []


@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_a_converse_stream_is_stored_as_one_chunk_per_event(
    kind: str, server: Server, tmp_path: Path
) -> None:
    with llmtape.tape(tmp_path, mode="record"):
        events, _ = call(kind, server, "converse_stream", converse_options(QUESTION, toolConfig=TOOLS))
    (recording,) = recordings(tmp_path)
    chunks = recording["response"]["body"]
    assert recording["response"]["is_streaming"]
    assert [chunk["__event__"] for chunk in chunks] == kinds(events)
    payloads = [payload for event in events for payload in event.values()]
    assert [chunk["__data__"] for chunk in chunks] == [{**payload, "p": PADDING} for payload in payloads]
    assert all("__headers__" not in chunk and "__decoded__" not in chunk for chunk in chunks)


@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_an_invoke_stream_is_stored_with_its_bytes_decoded(kind: str, server: Server, tmp_path: Path) -> None:
    options = invoke_options("Quel temps fait-il à Paris ? 🌦")
    with llmtape.tape(tmp_path, mode="record"):
        events, _ = call(kind, server, "invoke_model_with_response_stream", options)
    (recording,) = recordings(tmp_path)
    chunks = recording["response"]["body"]
    assert {(chunk["__event__"], chunk.get("__decoded__")) for chunk in chunks} == {("chunk", "bytes")}
    assert [chunk["__data__"] for chunk in chunks] == [
        {"bytes": event, "p": PADDING} for event in decoded(events)
    ]
    (path,) = tmp_path.glob("*.json")
    assert "à Paris ? 🌦" in path.read_text()  # readable, not base64


@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_an_invoke_stream_of_json_written_otherwise_is_stored_as_it_came(
    kind: str, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    # Given events whose JSON has spaces, which the stored JSON would not give back byte for byte
    options = invoke_options(f"{QUESTION} [spaced]")
    operation = "invoke_model_with_response_stream"
    # When they are recorded and replayed
    events, _ = round_trip(server, tmp_path, network, lambda: call(kind, server, operation, options))
    # Then each is stored as its base64, and replays as the very bytes that came
    (recording,) = recordings(tmp_path)
    chunks = recording["response"]["body"]
    assert all("__decoded__" not in chunk for chunk in chunks)
    assert [chunk["__data__"]["bytes"] for chunk in chunks] == [
        base64.b64encode(event["chunk"]["bytes"]).decode() for event in events
    ]
    assert b'"type": "message_start"' in events[0]["chunk"]["bytes"]


@pytest.mark.parametrize("kind", KINDS)
def test_each_client_goes_out_through_its_own_http_stack(
    kind: str, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a spy on the HTTP stack each client must use: urllib3 (botocore's own session) for boto3,
    # aiohttp for aiobotocore, or httpx2 when it is asked for
    sent: list[str] = []
    if kind == "sync":
        from botocore.httpsession import URLLib3Session

        send = URLLib3Session.send

        def spy_urllib3(session: URLLib3Session, request: Any) -> Any:
            sent.append(f"urllib3 {request.url}")
            return send(session, request)

        monkeypatch.setattr(URLLib3Session, "send", spy_urllib3)
    elif kind == "async":
        import aiohttp

        through = aiohttp.ClientSession.request

        def spy_aiohttp(session: aiohttp.ClientSession, method: str, url: Any, **kwargs: Any) -> Any:
            sent.append(f"aiohttp {url}")
            return through(session, method, url, **kwargs)

        monkeypatch.setattr(aiohttp.ClientSession, "request", spy_aiohttp)
    else:
        import httpx2

        deliver = httpx2.AsyncClient.send

        async def spy_httpx(client: httpx2.AsyncClient, request: httpx2.Request, **kwargs: Any) -> Any:
            sent.append(f"httpx {request.url}")
            return await deliver(client, request, **kwargs)

        monkeypatch.setattr(httpx2.AsyncClient, "send", spy_httpx)
    # When the client converses while recording
    with llmtape.tape(tmp_path, mode="record") as recording:
        got = call(kind, server, "converse", converse_options(QUESTION))
    # Then it went out through that stack, and llmtape recorded it there
    stack = {"sync": "urllib3", "async": "aiohttp"}.get(kind, "httpx")
    assert sent == [f"{stack} http://127.0.0.1:{server.port}/model/{MODEL.replace(':', '%3A')}/converse"]
    assert [c.outcome for c in recording.calls] == [llmtape.Outcome.RECORDED]
    assert got["stopReason"] == "end_turn"
