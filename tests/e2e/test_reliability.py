"""Bad and unusual input: broken streams, compressed answers, very large and non-ASCII bodies, bursts."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

import llmtape
from tests.conftest import NetworkGuard, Server
from tests.e2e.roundtrip import round_trip


def stream_until_it_breaks(url: str) -> tuple[list[str], str]:
    lines: list[str] = []
    body = {"model": "m", "messages": [{"role": "user", "content": "break"}], "stream": True}
    headers = {"authorization": "Bearer k", "x-test-break-after": "3"}
    try:
        with httpx.stream("POST", f"{url}/chat/completions", json=body, headers=headers) as response:
            for line in response.iter_lines():
                if line:
                    lines.append(line)
    except httpx.RemoteProtocolError as error:
        return lines, str(error)
    raise AssertionError("the stream did not break")


def test_a_stream_that_breaks_midway_is_kept_and_breaks_again(
    server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    with llmtape.tape(tmp_path, mode="record"):
        recorded, live_error = stream_until_it_breaks(server.base_url)
    (path,) = tmp_path.glob("*.json")
    stored = json.loads(path.read_text())["response"]
    assert len(stored["body"]) == 3
    assert stored["incomplete"]["error"] == "RemoteProtocolError"
    server.stop()
    network.block()
    with llmtape.tape(tmp_path):
        replayed, replay_error = stream_until_it_breaks(server.base_url)
    assert replayed == recorded
    assert len(recorded) == 3
    assert "the recorded stream broke off here, as the live one did" in replay_error
    assert f"file: {path}" in replay_error
    assert live_error in replay_error


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_compressed_answer_is_stored_decoded_and_replayed_without_its_encoding(
    encoding: str, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    def call() -> tuple[Any, ...]:
        with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
            raw = client.chat.completions.with_raw_response.create(
                model="m",
                messages=[{"role": "user", "content": "zip"}],
                extra_headers={"x-test-encoding": encoding},
            )
            return raw.headers.get("content-encoding"), raw.parse().choices[0].message.content

    encoding_seen, text = round_trip(server, tmp_path, network, call)
    assert encoding_seen is None
    assert text.startswith("You said: zip")
    (path,) = tmp_path.glob("*.json")
    assert json.loads(path.read_text())["response"]["body"]["__type__"].endswith("ChatCompletion")


def test_a_10_mb_answer_and_any_unicode_round_trip(
    server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    # Accents, a symbol, astral letters, Hebrew, Chinese, a joined emoji, a combining mark, a zero-width
    # space, a backslash, a quote, and control characters.
    unusual = (
        "Z\u00e9ro \u2615 \U0001d518\U0001d52b \u05e9\u05dc\u05d5\u05dd \u4f60\u597d "
        '\U0001f9d1\u200d\U0001f680 e\u0301 \u200b\\ " \n\t end'
    )

    def call() -> tuple[str | None, str | None]:
        with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
            big = client.chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": "big"}],
                extra_headers={"x-test-size": "10000000"},
            )
            odd = client.chat.completions.create(model="m", messages=[{"role": "user", "content": unusual}])
        return big.choices[0].message.content, odd.choices[0].message.content

    big, odd = round_trip(server, tmp_path, network, call)
    assert big is not None
    assert len(big) == 10_000_000
    assert odd is not None
    assert unusual in odd
    files = {p.stat().st_size > 10_000_000: p for p in tmp_path.glob("*.json")}
    assert set(files) == {True, False}
    assert unusual.split("\\")[0] in files[False].read_text(encoding="utf-8")  # stored as UTF-8, not escaped


def test_200_concurrent_async_streams_and_50_threads_each_get_their_own_recording(
    server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    async def streams() -> list[str]:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:

            async def one(n: int) -> str:
                chunks = await client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": f"async {n}"}], stream=True
                )
                return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])

            return await asyncio.gather(*(one(n) for n in range(200)))

    def threads() -> list[str | None]:
        with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:

            def one(n: int) -> str | None:
                messages = [{"role": "user", "content": f"thread {n}"}]
                return client.chat.completions.create(model="m", messages=messages).choices[0].message.content

            with ThreadPoolExecutor(max_workers=8) as pool:
                return list(pool.map(one, range(50)))

    answers = round_trip(server, tmp_path, network, lambda: (asyncio.run(streams()), threads()))
    async_answers, thread_answers = answers
    assert [a.split(". ")[0] for a in async_answers] == [f"You said: async {n}" for n in range(200)]
    assert [a.split(". ")[0] for a in thread_answers] == [f"You said: thread {n}" for n in range(50)]
    assert len(list(tmp_path.glob("*.json"))) == 250
    assert not list(tmp_path.glob(".*"))
