"""Other clients: raw httpx and httpx2 byte for byte, groq on httpx, openai's raw and streaming responses."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import groq
import httpx
import httpx2
import openai
import pytest
import respx

import llmtape
from tests.conftest import NetworkGuard, Server

BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Tell me a joke"}], "stream": True}


def raw_lines(module: Any, url: str) -> tuple[int, str, list[str]]:
    with (
        module.Client() as client,
        client.stream("POST", url, json=BODY, headers={"authorization": "Bearer k"}) as response,
    ):
        return response.status_code, response.headers["content-type"], list(response.iter_lines())


async def araw_lines(module: Any, url: str) -> tuple[int, str, list[str]]:
    async with (
        module.AsyncClient() as client,
        client.stream("POST", url, json=BODY, headers={"authorization": "Bearer k"}) as response,
    ):
        return (
            response.status_code,
            response.headers["content-type"],
            [line async for line in response.aiter_lines()],
        )


@pytest.mark.parametrize("module", [httpx, httpx2], ids=["httpx", "httpx2"])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_raw_sse_lines_replay_exactly_as_recorded(
    module: Any, asynchronous: bool, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    url = f"{server.base_url}/chat/completions"
    fetch = (
        (lambda: asyncio.run(araw_lines(module, url))) if asynchronous else (lambda: raw_lines(module, url))
    )
    with llmtape.tape(tmp_path, mode="record"):
        recorded = fetch()
    server.stop()
    network.block()
    with llmtape.tape(tmp_path) as replay:
        replayed = fetch()
    assert replayed == recorded
    status, content_type, lines = replayed
    assert (status, content_type) == (200, "text/event-stream; charset=utf-8")
    assert lines[-2:] == ["data: [DONE]", ""]
    assert sum(line.startswith("data: {") for line in lines) > 5
    assert [c.outcome for c in replay.calls] == ["replayed"]
    assert network.attempts == []


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_groq_client_on_httpx(
    asynchronous: bool, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    base_url = f"http://127.0.0.1:{server.port}"  # groq appends /openai/v1/chat/completions

    async def agroq() -> list[str]:
        async with groq.AsyncGroq(base_url=base_url, api_key="gsk-test", max_retries=0) as client:
            stream = await client.chat.completions.create(
                model="llama-3.1-8b", messages=BODY["messages"], stream=True
            )
            return [c.choices[0].delta.content or "" async for c in stream if c.choices]

    def sgroq() -> list[str]:
        with groq.Groq(base_url=base_url, api_key="gsk-test", max_retries=0) as client:
            stream = client.chat.completions.create(
                model="llama-3.1-8b", messages=BODY["messages"], stream=True
            )
            return [c.choices[0].delta.content or "" for c in stream if c.choices]

    fetch = (lambda: asyncio.run(agroq())) if asynchronous else sgroq
    with llmtape.tape(tmp_path, mode="record") as recording:
        recorded = fetch()
    server.stop()
    network.block()
    with llmtape.tape(tmp_path):
        assert fetch() == recorded
    assert "".join(recorded).startswith("You said: Tell me a joke")
    assert recording.calls[0].endpoint == "/openai/v1/chat/completions"
    assert network.attempts == []


def test_openai_raw_and_streaming_responses(server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    def fetch() -> tuple[Any, ...]:
        with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
            raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=BODY["messages"])
            with client.chat.completions.with_streaming_response.create(
                model="gpt-4o", messages=BODY["messages"], stream=True
            ) as streamed:
                lines = list(streamed.iter_lines())
            return raw.status_code, raw.headers["x-request-id"], raw.parse().choices[0].message.content, lines

    with llmtape.tape(tmp_path, mode="record"):
        recorded = fetch()
    server.stop()
    network.block()
    with llmtape.tape(tmp_path):
        assert fetch() == recorded
    assert recorded[0] == 200
    assert recorded[1].startswith("req_")


def test_host_and_port_are_not_part_of_the_key(server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    messages = [{"role": "user", "content": "portable"}]
    with (
        openai.OpenAI(base_url=server.base_url, api_key="k") as client,
        llmtape.tape(tmp_path, mode="record"),
    ):
        recorded = client.chat.completions.create(model="m", messages=messages)
    server.stop()
    network.block()
    with (
        openai.OpenAI(
            base_url="https://api.example-provider.test/v1",
            api_key="other",
            default_query={"api-version": "1"},
        ) as other,
        llmtape.tape(tmp_path),
    ):
        assert other.chat.completions.create(model="m", messages=messages) == recorded


def test_the_api_key_and_private_headers_never_reach_disk(server: Server, tmp_path: Path) -> None:
    secret = "sk-proj-" + "S3cr3t" * 8
    with (
        openai.OpenAI(
            base_url=server.base_url,
            api_key=secret,
            organization="org-hidden",
            default_query={"api-key": secret},
        ) as client,
        llmtape.tape(tmp_path, mode="record"),
    ):
        client.chat.completions.create(model="m", messages=BODY["messages"])
        with client.chat.completions.create(model="m", messages=BODY["messages"], stream=True) as stream:
            list(stream)
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 2
    for path in files:
        text = path.read_text()
        for private in (secret, "S3cr3t", "org-hidden", "private-do-not-store", "authorization", "Bearer"):
            assert private not in text


def test_other_http_traffic_passes_through_and_respx_users_keep_their_mocks(
    server: Server, tmp_path: Path
) -> None:
    with llmtape.tape(tmp_path) as active:
        # Non-LLM paths reach the network untouched.
        assert httpx.get(f"http://127.0.0.1:{server.port}/stats").json()["served"] == 0
        assert httpx2.get(f"http://127.0.0.1:{server.port}/v1/unknown").status_code == 404
        # A respx mock started inside still answers the requests llmtape leaves alone.
        with respx.mock(base_url="https://weather.test") as mock:
            mock.get("/today").respond(json={"sky": "blue"})
            assert httpx.get("https://weather.test/today").json() == {"sky": "blue"}
    assert active.calls == []
    assert server.served() == 1


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_record_mode_streams_through_before_the_stream_ends(
    asynchronous: bool, server: Server, tmp_path: Path
) -> None:
    # The server sends one event, then waits until we ask it to go on: a recorder that
    # drained the stream before handing it over would never show us that first event in time.
    release = f"http://127.0.0.1:{server.port}/release"
    kwargs: dict[str, Any] = {"model": "m", "messages": BODY["messages"], "stream": True}
    kwargs["extra_headers"] = {"x-test-hold": "1"}

    def sync_run() -> list[str]:
        with (
            openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client,
            client.chat.completions.create(**kwargs) as stream,
        ):
            chunks = iter(stream)
            first = next(chunks)
            httpx.get(release)
            return [first.id, *(c.id for c in chunks)]

    async def async_run() -> list[str]:
        async with (
            openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client,
            await client.chat.completions.create(**kwargs) as stream,
        ):
            chunks = aiter(stream)
            first = await anext(chunks)
            httpx.get(release)
            return [first.id, *[c.id async for c in chunks]]

    with llmtape.tape(tmp_path, mode="record"):
        ids = asyncio.run(async_run()) if asynchronous else sync_run()
    assert httpx.get(f"http://127.0.0.1:{server.port}/stats").json()["held"] is True
    assert len(ids) > 3
    assert len(list(tmp_path.glob("*.json"))) == 1


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_an_sdks_trace_export_is_answered_in_replay_and_never_stored(
    asynchronous: bool, tmp_path: Path, network: NetworkGuard
) -> None:
    # openai-agents posts its traces to api.openai.com from a background client: in replay mode that
    # must neither reach the network nor count as a missing recording.
    network.block()
    url, traces = "https://api.openai.com/v1/traces/ingest", {"data": [{"object": "trace", "id": "trace_1"}]}

    async def apost() -> int:
        async with httpx2.AsyncClient() as client:
            return (await client.post(url, json=traces)).status_code

    with llmtape.tape(tmp_path) as replay:
        status = asyncio.run(apost()) if asynchronous else httpx2.post(url, json=traces).status_code
    assert status == 204
    assert replay.calls == []
    assert list(tmp_path.iterdir()) == []
    assert network.attempts == []
