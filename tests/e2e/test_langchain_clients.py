"""LangChain's chat models over llmtape: langchain-openai and langchain-anthropic, sync and async."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_openai import ChatOpenAI

from tests.conftest import NetworkGuard, Server
from tests.e2e.roundtrip import round_trip

PROMPT = "Name a colour"


def model(kind: str, server: Server) -> Any:
    if kind == "openai":
        return ChatOpenAI(base_url=server.base_url, api_key="k", model="gpt-4o", max_retries=0)  # type: ignore[arg-type]
    return ChatAnthropic(
        base_url=f"http://127.0.0.1:{server.port}",
        api_key="k",
        model="claude-example",
        max_retries=0,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_invoke_and_stream(
    kind: str, asynchronous: bool, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    chat = model(kind, server)

    def sync() -> tuple[str, str]:
        return str(chat.invoke(PROMPT).content), "".join(str(c.content) for c in chat.stream(PROMPT))

    async def run_async() -> tuple[str, str]:
        whole = await chat.ainvoke(PROMPT)
        return str(whole.content), "".join([str(c.content) async for c in chat.astream(PROMPT)])

    whole, streamed = round_trip(
        server, tmp_path, network, (lambda: asyncio.run(run_async())) if asynchronous else sync
    )
    assert whole == streamed
    assert PROMPT in whole
