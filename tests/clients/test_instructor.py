"""instructor over the openai 2.x SDK (httpx): a pydantic ``response_model`` filled through a forced tool
call, sync and async, whole and as ``create_partial`` streams; recorded against the live server with the
default endpoints, then replayed with the server stopped and every socket refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import instructor
import openai
import pytest
from pydantic import BaseModel

from tests.conftest import NetworkGuard, Server
from tests.e2e.roundtrip import round_trip

PROMPT = "What is the capital of France?"
MESSAGES = [{"role": "user", "content": PROMPT}]


class SearchQuery(BaseModel):
    """The query to run against the knowledge base."""

    query: str


def whole(server: Server) -> tuple[dict[str, Any], str]:
    with openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=0) as sdk:
        client = instructor.from_openai(sdk)
        found, completion = client.chat.completions.create_with_completion(
            model="gpt-4o-mini", response_model=SearchQuery, messages=MESSAGES
        )
    return found.model_dump(), completion.id


async def awhole(server: Server) -> tuple[dict[str, Any], str]:
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test-key", max_retries=0) as sdk:
        client = instructor.from_openai(sdk)
        found, completion = await client.chat.completions.create_with_completion(
            model="gpt-4o-mini", response_model=SearchQuery, messages=MESSAGES
        )
    return found.model_dump(), completion.id


def partial(server: Server) -> list[dict[str, Any]]:
    with openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=0) as sdk:
        client = instructor.from_openai(sdk)
        stream = client.chat.completions.create_partial(
            model="gpt-4o-mini", response_model=SearchQuery, messages=MESSAGES
        )
        return [piece.model_dump() for piece in stream]


async def apartial(server: Server) -> list[dict[str, Any]]:
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test-key", max_retries=0) as sdk:
        client = instructor.from_openai(sdk)
        stream = client.chat.completions.create_partial(
            model="gpt-4o-mini", response_model=SearchQuery, messages=MESSAGES
        )
        return [piece.model_dump() async for piece in stream]


@pytest.mark.parametrize("call", [whole, awhole], ids=["sync", "async"])
def test_response_model(call: Any, server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    found, completion_id = round_trip(server, tmp_path, network, lambda: call(server))
    assert found == {"query": PROMPT}
    assert completion_id.startswith("chatcmpl-")


@pytest.mark.parametrize("call", [partial, apartial], ids=["sync", "async"])
def test_create_partial(call: Any, server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    pieces = round_trip(server, tmp_path, network, lambda: call(server))
    # The arguments arrive seven characters a chunk: the query grows until it is whole.
    queries = [piece["query"] or "" for piece in pieces]
    assert queries[-1] == PROMPT
    assert len(set(queries)) > 3
    assert all(PROMPT.startswith(query) for query in queries)
