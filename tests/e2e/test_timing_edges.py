"""Timing at the edges: an aiohttp replay let go of mid-stream stops at once, and a live stream cut off
by the client's own read timeout is not recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

import llmtape
from tests.conftest import Server

ASK = [{"role": "user", "content": "Tell me about the weather in Paris today"}]
SLOW = {"x-test-delay-ms": "0,200"}  # 200 ms before each piece of a stream


AIOHTTP_TEST = """
import asyncio
import os
import time

import openai
import pytest


@pytest.mark.llmtape(speed=1)
def test_give_up():
    async def main():
        async with openai.AsyncOpenAI(
            base_url=os.environ["LLM_BASE_URL"], api_key="test-key", max_retries=0,
            default_headers={"x-test-delay-ms": "50,200"}, http_client=openai.DefaultAioHttpClient(),
        ) as client:
            async def consume():
                messages = [{"role": "user", "content": "aio cancel"}]
                stream = await client.chat.completions.create(model="gpt-4o", messages=messages, stream=True)
                async for _ in stream:
                    pass
            started = time.monotonic()
            try:
                await asyncio.wait_for(consume(), float(os.environ["GIVE_UP"]))
            except TimeoutError:
                pass
            return time.monotonic() - started
    took = asyncio.run(main())
    print(f"TOOK {took:.3f}")
"""


def test_an_aiohttp_replay_given_up_midway_stops_at_once(
    pytester: pytest.Pytester, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_BASE_URL", server.base_url)
    monkeypatch.delenv("LLMTAPE_MODE", raising=False)
    pytester.makepyfile(test_give_up=AIOHTTP_TEST)
    monkeypatch.setenv("GIVE_UP", "60")
    pytester.runpytest("--record", "-s").stdout.fnmatch_lines(["*TOOK [2-9].*"])  # the live stream: over 2 s
    monkeypatch.setenv("GIVE_UP", "0.5")
    replayed = pytester.runpytest("-s")
    replayed.assert_outcomes(passed=1)
    # The application gives up after 0.5 s and goes on at once, as it does live
    (line,) = [line for line in replayed.stdout.lines if "TOOK" in line]
    assert float(line.split("TOOK")[1].split()[0]) < 1.2


def test_a_live_stream_cut_by_the_clients_own_read_timeout_is_not_recorded(
    server: Server, tmp_path: Path
) -> None:
    timeout = httpx.Timeout(10, read=0.06)
    options: Any = {"base_url": server.base_url, "api_key": "test-key", "max_retries": 0, "timeout": timeout}
    with (
        llmtape.tape(tmp_path, mode="record", strict=False) as recording,
        openai.OpenAI(**options, default_headers=SLOW) as client,
        pytest.raises(openai.APITimeoutError),
    ):
        for _ in client.chat.completions.create(model="gpt-4o", messages=ASK, stream=True):  # type: ignore[arg-type]
            pass
    assert list(tmp_path.glob("*.json")) == []
    (call,) = recording.calls
    assert call.outcome is llmtape.Outcome.FAILED
    assert "the client's read timed out" in (call.error or "")
