"""LangChain's chat models over llmtape: langchain-openai and langchain-anthropic, sync and async."""

from __future__ import annotations

import asyncio
import contextvars
from pathlib import Path
from typing import Any

import openai
import pytest
from langchain_anthropic import ChatAnthropic
from langchain_openai import ChatOpenAI

from tests.conftest import NetworkGuard, Server
from tests.e2e.roundtrip import round_trip

PROMPT = "Name a colour"


def model(kind: str, server: Server, **http_clients: Any) -> Any:
    """The chat model; ChatOpenAI sends through the given HTTP clients, which the caller closes."""
    if kind == "openai":
        return ChatOpenAI(
            base_url=server.base_url,
            api_key="k",  # type: ignore[arg-type]
            model="gpt-4o",
            max_retries=0,
            **http_clients,
        )
    return ChatAnthropic(
        base_url=f"http://127.0.0.1:{server.port}",
        api_key="k",
        model="claude-example",
        max_retries=0,  # type: ignore[arg-type]
    )


def sync_round_trip(kind: str, server: Server, directory: Path, network: NetworkGuard) -> tuple[str, str]:
    with openai.DefaultHttpxClient() as http_client:
        chat = model(kind, server, http_client=http_client)

        def call() -> tuple[str, str]:
            return str(chat.invoke(PROMPT).content), "".join(str(c.content) for c in chat.stream(PROMPT))

        try:
            return round_trip(server, directory, network, call)
        finally:
            if isinstance(chat, ChatAnthropic):
                # It takes no HTTP client: close the SDK client it made (and the pool it caches).
                chat._client.close()


def async_round_trip(kind: str, server: Server, directory: Path, network: NetworkGuard) -> tuple[str, str]:
    # One event loop for recording, replay and closing, so that each connection is closed in the
    # loop that opened it; each run in a copy of the current context, which holds the active tape.
    with asyncio.Runner() as runner:
        http_client = openai.DefaultAsyncHttpxClient()
        chat = model(kind, server, http_async_client=http_client)

        async def call() -> tuple[str, str]:
            whole = await chat.ainvoke(PROMPT)
            return str(whole.content), "".join([str(c.content) async for c in chat.astream(PROMPT)])

        async def close() -> None:
            await http_client.aclose()
            if isinstance(chat, ChatAnthropic):
                # It takes no HTTP client: close the SDK client it made (and the pool it caches).
                await chat._async_client.close()

        try:
            return round_trip(
                server, directory, network, lambda: runner.run(call(), context=contextvars.copy_context())
            )
        finally:
            runner.run(close())


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_invoke_and_stream(
    kind: str, asynchronous: bool, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    whole, streamed = (async_round_trip if asynchronous else sync_round_trip)(kind, server, tmp_path, network)
    assert whole == streamed
    assert PROMPT in whole
