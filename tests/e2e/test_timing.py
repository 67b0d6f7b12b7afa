"""Timing, recorded and replayed: a stand-in server that delays its answers and the pieces of its streams
(``x-test-delay-ms``) is recorded by the real SDKs, sync and async; replay is instant by default, and at a
speed it keeps the recorded gaps divided by that speed, time to first token, read timeouts and
cancellation included.

The lower bounds asserted below are exact (replay sleeps at least the recorded wait); the upper bounds are
a multiple of the recorded time away, so a loaded machine does not make them fail.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import ollama
import openai
import pytest

import llmtape
from llmtape.format.recording import parse
from tests.conftest import NetworkGuard, Server, start_server

HEADERS_MS, GAP_MS = 400, 60  # the stand-in waits 400 ms before it answers, 60 ms before each piece
DELAY = {"x-test-delay-ms": f"{HEADERS_MS},{GAP_MS}"}
MESSAGES: Any = [{"role": "user", "content": "Tell me about the weather in Paris today"}]


@pytest.fixture(scope="module")
def delayed() -> Iterator[Server]:
    live = start_server()
    yield live
    live.stop()


def _root(server: Server) -> str:
    return f"http://127.0.0.1:{server.port}"


# One streamed call per API, sync and async: each returns the seconds from the request to every piece.


def openai_sync(server: Server, timeout: float = 60) -> list[float]:
    start = time.monotonic()
    with openai.OpenAI(
        base_url=server.base_url, api_key="test-key", max_retries=0, default_headers=DELAY, timeout=timeout
    ) as client:
        stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
        return [time.monotonic() - start for _ in stream]


async def openai_async(server: Server, timeout: float = 60) -> list[float]:
    start = time.monotonic()
    async with openai.AsyncOpenAI(
        base_url=server.base_url, api_key="test-key", max_retries=0, default_headers=DELAY, timeout=timeout
    ) as client:
        stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
        return [time.monotonic() - start async for _ in stream]


def anthropic_sync(server: Server, timeout: float = 60) -> list[float]:
    start = time.monotonic()
    with anthropic.Anthropic(
        base_url=_root(server), api_key="test-key", max_retries=0, default_headers=DELAY, timeout=timeout
    ) as client:
        stream = client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=100,
            messages=MESSAGES,
            stream=True,
        )
        return [time.monotonic() - start for _ in stream]


async def anthropic_async(server: Server, timeout: float = 60) -> list[float]:
    start = time.monotonic()
    async with anthropic.AsyncAnthropic(
        base_url=_root(server), api_key="test-key", max_retries=0, default_headers=DELAY, timeout=timeout
    ) as client:
        stream = await client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=100,
            messages=MESSAGES,
            stream=True,
        )
        return [time.monotonic() - start async for _ in stream]


def ollama_sync(server: Server, timeout: float = 60) -> list[float]:
    start = time.monotonic()
    with ollama.Client(host=_root(server), headers=DELAY, timeout=timeout) as client:
        return [
            time.monotonic() - start for _ in client.chat(model="llama3.2", messages=MESSAGES, stream=True)
        ]


async def ollama_async(server: Server, timeout: float = 60) -> list[float]:
    start = time.monotonic()
    async with ollama.AsyncClient(host=_root(server), headers=DELAY, timeout=timeout) as client:
        stream = await client.chat(model="llama3.2", messages=MESSAGES, stream=True)
        return [time.monotonic() - start async for _ in stream]


CALLS: dict[str, Callable[..., Any]] = {
    "openai-sync": openai_sync,
    "openai-async": openai_async,
    "anthropic-sync": anthropic_sync,
    "anthropic-async": anthropic_async,
    "ollama-sync": ollama_sync,
    "ollama-async": ollama_async,
}


def call(name: str, server: Server, timeout: float = 60) -> list[float]:
    result = CALLS[name](server, timeout)
    return asyncio.run(result) if asyncio.iscoroutine(result) else result  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", list(CALLS))
def test_recorded_timing_and_paced_replay(
    name: str, delayed: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    # Given a stream recorded from a server that thinks 400 ms, then sends a piece every 60 ms
    with llmtape.tape(tmp_path, mode="record"):
        live = call(name, delayed)
    (path,) = tmp_path.glob("*.json")
    response = parse(path.read_bytes(), path)["response"]
    timing, chunks = response["timing"], response["body"]
    # Then the recording says when the headers came, when each chunk came, and when the stream ended
    assert timing["headers_ms"] >= HEADERS_MS
    times = [chunk["__ms__"] for chunk in chunks]
    assert times == sorted(times)
    assert times[0] >= HEADERS_MS + GAP_MS
    assert times[-1] - times[0] >= GAP_MS * (len(chunks) - 1)
    assert timing["done_ms"] >= times[-1]
    recorded_seconds = timing["done_ms"] / 1000
    network.block()
    # When it is replayed at the default speed, it is instant
    with llmtape.tape(tmp_path):
        instant = call(name, delayed)
    assert len(instant) == len(live)
    assert instant[-1] < recorded_seconds / 2
    # At speed 1, the first piece comes no sooner than it did live, and the whole stream takes as long
    with llmtape.tape(tmp_path, speed=1):
        real_time = call(name, delayed)
    assert real_time[0] >= (times[0] / 1000) * 0.99
    assert real_time[-1] >= (times[-1] / 1000) * 0.99
    # At speed 4, a quarter of each wait
    with llmtape.tape(tmp_path, speed=4):
        faster = call(name, delayed)
    assert faster[0] >= (times[0] / 1000) / 4 * 0.99
    assert faster[-1] >= (times[-1] / 1000) / 4 * 0.99
    assert faster[-1] < real_time[-1]
    # Each piece came no sooner than it was due: the recorded time after the request, at the speed
    due = [(at / 1000) * 0.99 for at in times]
    assert all(got >= at for got, at in zip(real_time, due, strict=False))
    assert network.attempts == []


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_slow_answer_replayed_in_real_time_times_the_client_out(
    kind: str, delayed: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    # Given a plain answer that took 400 ms
    options: dict[str, Any] = {"base_url": delayed.base_url, "api_key": "test-key", "max_retries": 0}

    async def aask(timeout: float) -> Any:
        async with openai.AsyncOpenAI(**options, default_headers=DELAY, timeout=timeout) as client:
            return await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    def ask(timeout: float) -> Any:
        if kind == "async":
            return asyncio.run(aask(timeout))
        with openai.OpenAI(**options, default_headers=DELAY, timeout=timeout) as client:
            return client.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    with llmtape.tape(tmp_path, mode="record"):
        ask(timeout=60)
    network.block()
    # When it is replayed in real time to a client that waits at most 0.25 s
    with llmtape.tape(tmp_path, speed=1, strict=False) as replay:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            ask(timeout=0.25)
        waited = time.monotonic() - started
    # Then the client times out, after its own timeout, as it would against the slow live API
    assert waited >= 0.25
    assert [c.outcome for c in replay.calls] == [llmtape.Outcome.REPLAYED]
    # And four times faster (100 ms), the same client gets its answer
    with llmtape.tape(tmp_path, speed=4):
        assert ask(timeout=0.25).choices[0].message.content.startswith("You said:")
    assert network.attempts == []


def test_an_async_stream_replayed_in_real_time_can_be_cancelled(
    delayed: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    with llmtape.tape(tmp_path, mode="record"):
        live = call("openai-async", delayed)
    network.block()

    async def read_for(seconds: float) -> list[float]:
        seen: list[float] = []

        async def read() -> None:
            seen.extend(await openai_async(delayed))

        with pytest.raises(TimeoutError):
            await asyncio.wait_for(read(), seconds)
        return seen

    # When the application gives up on the stream before the recorded time to first token
    with llmtape.tape(tmp_path, speed=1):
        seen = asyncio.run(read_for(HEADERS_MS / 1000 / 2))
    # Then the replay is cancelled as the live call would be: nothing read, nothing left running
    assert seen == []
    assert len(live) > 2


def test_a_recording_without_timing_replays_instantly_at_any_speed(
    delayed: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    with llmtape.tape(tmp_path, mode="record", timing=False):
        live = call("openai-sync", delayed)
    (path,) = tmp_path.glob("*.json")
    recording = parse(path.read_bytes(), path)
    assert "timing" not in recording["response"]
    assert all("__ms__" not in chunk for chunk in recording["response"]["body"])
    network.block()
    with llmtape.tape(tmp_path, speed=1):
        replayed = call("openai-sync", delayed)
    assert len(replayed) == len(live)
    assert replayed[-1] < (HEADERS_MS + GAP_MS * len(live)) / 1000 / 2


def test_a_client_that_retries_after_a_timeout_gets_the_same_recording_again(
    delayed: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    # Given a 400 ms answer, replayed in real time to a client that waits 0.15 s and retries twice
    options: dict[str, Any] = {"base_url": delayed.base_url, "api_key": "test-key", "default_headers": DELAY}
    with llmtape.tape(tmp_path, mode="record"), openai.OpenAI(**options, max_retries=0) as client:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    network.block()
    with llmtape.tape(tmp_path, speed=1, strict=False) as replay:
        with (
            openai.OpenAI(**options, max_retries=2, timeout=0.15) as client,
            pytest.raises(openai.APITimeoutError),
        ):
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        # Then every attempt timed out on the same recording, as each would against the slow API, and no
        # attempt was taken for a request sent more often than recorded
        assert [c.outcome for c in replay.calls] == [llmtape.Outcome.REPLAYED] * 3
        assert {c.path for c in replay.calls} == {next(tmp_path.glob("*.json"))}
        assert replay.tokens.total == 0  # no answer came, so no tokens were stood in for
        # And once the client waits long enough, the same request is answered by that recording
        with openai.OpenAI(**options, max_retries=0, timeout=5) as client:
            assert client.chat.completions.create(model="gpt-4o", messages=MESSAGES).choices
    assert replay.counts()[llmtape.Outcome.MISSING] == 0
    assert replay.tokens.total > 0  # the one answer that came
    assert network.attempts == []
