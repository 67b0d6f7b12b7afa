"""Scenario fixtures: the provider to record against, its clients, and the check that every call hit the tape.

By default the scenarios record against the local model of ``scripts/local-llm``. Point them at
a hosted provider with OPENAI_BASE_URL, OPENAI_API_KEY and LLMTAPE_SCENARIO_MODEL.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import openai
import pytest

from llmtape import Call, Outcome, TapeView

LOCAL_MODEL_URL = "http://127.0.0.1:8089/v1"
LOCAL_MODEL = "smollm2-135m-instruct"

# What each mode may do with a call; a miss is never acceptable.
ALLOWED = {
    "replay": {Outcome.REPLAYED},
    "record": {Outcome.REPLAYED, Outcome.RECORDED},
    "rewrite": {Outcome.RECORDED, Outcome.REPLAYED},  # each request is recorded once a run
    "live": {Outcome.LIVE},
}


@dataclass(frozen=True)
class Provider:
    """Where the scenarios' LLM calls go when they are recorded."""

    base_url: str
    api_key: str
    model: str


@pytest.fixture(scope="session")
def provider() -> Provider:
    """The provider: the local model unless OPENAI_BASE_URL and LLMTAPE_SCENARIO_MODEL say otherwise."""
    return Provider(
        base_url=os.environ.get("OPENAI_BASE_URL", LOCAL_MODEL_URL),
        api_key=os.environ.get("OPENAI_API_KEY", "unused-in-replay"),
        model=os.environ.get("LLMTAPE_SCENARIO_MODEL", LOCAL_MODEL),
    )


@pytest.fixture
def client(provider: Provider) -> Iterator[openai.OpenAI]:
    """A sync openai client for the provider, closed after the test."""
    with openai.OpenAI(base_url=provider.base_url, api_key=provider.api_key, max_retries=0) as sync:
        yield sync


@pytest.fixture
def async_client(provider: Provider) -> Iterator[openai.AsyncOpenAI]:
    """An async openai client for the provider, closed after the test.

    The tests drive it with ``asyncio.run``, whose event loop is gone by teardown; a connection
    kept alive past its request could then no longer be closed, so none is kept.
    """
    http_client = openai.DefaultAsyncHttpxClient(limits=httpx2.Limits(max_keepalive_connections=0))
    asynchronous = openai.AsyncOpenAI(
        base_url=provider.base_url, api_key=provider.api_key, max_retries=0, http_client=http_client
    )
    yield asynchronous
    asyncio.run(asynchronous.close())


@pytest.fixture(autouse=True)
def every_call_on_tape(llmtape: TapeView, request: pytest.FixtureRequest) -> Iterator[TapeView]:
    """After each scenario: it made LLM calls, and each was answered as the mode allows (no miss)."""
    yield llmtape
    assert llmtape.calls, "the scenario made no LLM call"
    outcomes = {call.outcome for call in llmtape.calls}
    assert outcomes <= ALLOWED[llmtape.mode], f"{llmtape.mode} mode, but calls were {sorted(outcomes)}"
    if os.environ.get(TRANSCRIPT):
        write_transcript(Path(os.environ[TRANSCRIPT]), request.node.nodeid, llmtape.calls)


# The equivalence check compares what two runs sent: with LLMTAPE_TRANSCRIPT=FILE set, each
# scenario appends its node id and the keys of its calls, in order, to FILE.
TRANSCRIPT = "LLMTAPE_TRANSCRIPT"


def write_transcript(path: Path, nodeid: str, calls: list[Call]) -> None:
    with path.open("a", encoding="utf-8") as transcript:
        transcript.write(json.dumps({"test": nodeid, "keys": [call.key for call in calls]}) + "\n")
