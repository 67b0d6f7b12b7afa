"""aiohttp: sessions used directly, httpx transports built on aiohttp, and openai's DefaultAioHttpClient,
recorded against the live server and replayed with it gone."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import httpx_aiohttp
import openai
import pytest

import llmtape
from tests.conftest import NetworkGuard, Server
from tests.e2e.roundtrip import round_trip

BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Tell me a joke"}]}
HEADERS = {"authorization": "Bearer test-key"}


async def session_call(url: str, stream: bool, **extra: Any) -> dict[str, Any]:
    """What an application reads from a chat call over a plain aiohttp session."""
    async with (
        aiohttp.ClientSession(**extra) as session,
        session.post(url, json={**BODY, "stream": stream}, headers=HEADERS) as response,
    ):
        if not stream:
            return {"status": response.status, "json": await response.json(), "type": response.content_type}
        lines = [line.decode() async for line in response.content]
        return {"status": response.status, "lines": lines, "type": response.content_type}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_session_used_directly_round_trips(
    stream: bool, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    url = f"{server.base_url}/chat/completions"
    result = round_trip(server, tmp_path, network, lambda: session_call(url, stream))
    assert result["status"] == 200
    if stream:
        assert result["type"] == "text/event-stream"
        events = [json.loads(line[6:]) for line in result["lines"] if line.startswith("data: {")]
        assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
        assert result["lines"][-2:] == ["data: [DONE]\n", "\n"]
    else:
        assert result["json"]["choices"][0]["message"]["content"].startswith("You said: Tell me a joke")


def test_a_stream_reaches_the_caller_event_by_event_while_recording(server: Server, tmp_path: Path) -> None:
    # The server holds the stream after its first event until told to go on: a recorder that waited for
    # the whole body would hang here, not hand over the first event.
    url = f"{server.base_url}/chat/completions"

    async def first_event() -> str:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                url, json={**BODY, "stream": True}, headers={**HEADERS, "x-test-hold": "1"}
            ) as response,
        ):
            line = await asyncio.wait_for(response.content.readline(), 10)
            async with session.get(f"http://127.0.0.1:{server.port}/release"):
                pass
            async for _ in response.content:
                pass
            return line.decode()

    with llmtape.tape(tmp_path, mode="record") as recording:
        assert asyncio.run(first_event()).startswith("data: {")
    assert [c.outcome for c in recording.calls] == [llmtape.Outcome.RECORDED]


def test_an_httpx_client_on_the_aiohttp_transport_round_trips(
    server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    async def call() -> list[str]:
        async with httpx.AsyncClient(transport=httpx_aiohttp.AiohttpTransport()) as client:
            request = {"json": {**BODY, "stream": True}, "headers": HEADERS}
            async with client.stream("POST", f"{server.base_url}/chat/completions", **request) as response:
                return [line async for line in response.aiter_lines()]

    lines = round_trip(server, tmp_path, network, call)
    assert lines[-2:] == ["data: [DONE]", ""]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_openai_default_aiohttp_client_round_trips(
    stream: bool, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    async def call() -> str:
        async with openai.AsyncOpenAI(
            base_url=server.base_url, api_key="test-key", http_client=openai.DefaultAioHttpClient()
        ) as client:
            messages: Any = BODY["messages"]
            if not stream:
                completion = await client.chat.completions.create(model="gpt-4o", messages=messages)
                return completion.choices[0].message.content or ""
            chunks = await client.chat.completions.create(model="gpt-4o", messages=messages, stream=True)
            return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])

    assert round_trip(server, tmp_path, network, call).startswith("You said: Tell me a joke")


def test_a_redirect_is_recorded_and_followed_again_on_replay(
    server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    url = f"http://127.0.0.1:{server.port}/moved/v1/chat/completions"
    with llmtape.tape(tmp_path, mode="record") as recording:
        recorded = asyncio.run(session_call(url, False))
    server.stop()
    network.block()
    with llmtape.tape(tmp_path) as replay:
        replayed = asyncio.run(session_call(url, False))
    assert replayed == recorded
    assert recorded["json"]["object"] == "chat.completion"
    assert [c.endpoint for c in recording.calls] == ["/moved/v1/chat/completions", "/v1/chat/completions"]
    assert [c.outcome for c in replay.calls] == [llmtape.Outcome.REPLAYED] * 2
    assert network.attempts == []


def test_a_stream_that_broke_off_breaks_off_again_on_replay(
    server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    url = f"{server.base_url}/chat/completions"

    async def call() -> tuple[list[bytes], str]:
        pieces: list[bytes] = []
        headers = {**HEADERS, "x-test-break-after": "2"}
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json={**BODY, "stream": True}, headers=headers) as response,
        ):
            try:
                async for line in response.content:
                    pieces.append(line)
            except aiohttp.ClientPayloadError as error:
                return pieces, type(error).__name__
        return pieces, "complete"

    with llmtape.tape(tmp_path, mode="record"):
        recorded, ending = asyncio.run(call())
    assert ending == "ClientPayloadError"
    server.stop()
    network.block()
    with llmtape.tape(tmp_path):
        replayed, replay_ending = asyncio.run(call())
    assert (replayed, replay_ending) == (recorded, "ClientPayloadError")


def test_the_users_middleware_runs_first_and_may_answer_alone(server: Server, tmp_path: Path) -> None:
    seen: list[str] = []

    async def note(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        seen.append(request.headers.get("x-user", ""))
        return await handler(request)

    async def call() -> dict[str, Any]:
        headers = {**HEADERS, "x-user": "yes"}
        async with (
            aiohttp.ClientSession(middlewares=(note,)) as session,
            session.post(f"{server.base_url}/chat/completions", json=BODY, headers=headers) as response,
        ):
            return dict(await response.json())

    with llmtape.tape(tmp_path, mode="record") as recording:
        answer = asyncio.run(call())
    assert seen == ["yes"]
    assert answer["object"] == "chat.completion"
    assert [c.outcome for c in recording.calls] == [llmtape.Outcome.RECORDED]


def test_other_requests_pass_through_untouched(server: Server, tmp_path: Path) -> None:
    async def stats() -> int:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{server.port}/stats") as response,
        ):
            return int((await response.json())["served"])

    with llmtape.tape(tmp_path) as replay:
        assert asyncio.run(stats()) == 0
    assert replay.calls == []


def test_a_miss_in_replay_answers_the_session_without_the_network(
    server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    server.stop()
    network.block()
    results = []
    with pytest.raises(llmtape.MissingRecording, match="no recording"), llmtape.tape(tmp_path) as replay:
        results.append(asyncio.run(session_call(f"{server.base_url}/chat/completions", False)))
    assert results[0]["status"] == 404
    assert [c.outcome for c in replay.calls] == [llmtape.Outcome.MISSING]
    assert network.attempts == []


def test_a_stream_left_unread_is_read_to_its_end_and_saved_whole(server: Server, tmp_path: Path) -> None:
    url = f"{server.base_url}/chat/completions"

    async def first_line() -> bytes:
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json={**BODY, "stream": True}, headers=HEADERS) as response,
        ):
            return await response.content.readline()

    with llmtape.tape(tmp_path, mode="record") as recording:
        assert asyncio.run(first_line()).startswith(b"data: {")
    (stored,) = [json.loads(path.read_text()) for path in tmp_path.glob("*.json")]
    assert stored["response"]["sse_done"] is True
    assert len(stored["response"]["body"]) > 1
    assert [c.outcome for c in recording.calls] == [llmtape.Outcome.RECORDED]


def test_a_body_the_session_compresses_is_keyed_as_sent(tmp_path: Path, network: NetworkGuard) -> None:
    # aiohttp compresses the body only as it writes it; the request llmtape sees is still plain JSON.
    network.block()

    async def call() -> int:
        url = "http://127.0.0.1:9/v1/chat/completions"
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json=BODY, headers=HEADERS, compress="deflate") as response,
        ):
            return response.status

    with pytest.raises(llmtape.MissingRecording), llmtape.tape(tmp_path) as replay:
        assert asyncio.run(call()) == 404
    assert [(c.outcome, c.body) for c in replay.calls] == [(llmtape.Outcome.MISSING, BODY)]
