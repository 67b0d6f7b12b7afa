"""The OpenAI Agents SDK: an ``Agent`` with a ``function_tool`` on ``OpenAIResponsesModel`` and
``OpenAIChatCompletionsModel`` over ``AsyncOpenAI(base_url=...)``, through ``Runner.run``,
``Runner.run_sync`` and ``Runner.run_streamed``, under llmtape's default configuration: the run recorded
against the live server (the tool call, then the answer) replays offline with the same items, output and
usage. The SDK also exports traces to api.openai.com by default; replay must neither send them nor fail."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import agents
import openai
import pytest
from agents import (
    Agent,
    ItemHelpers,
    MessageOutputItem,
    Model,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    RunResult,
    RunResultStreaming,
    Tool,
    ToolCallItem,
    ToolCallOutputItem,
    function_tool,
)
from openai.types.responses import ResponseTextDeltaEvent

import llmtape
from tests.conftest import NetworkGuard, Server
from tests.e2e import roundtrip

PROMPT = "What is the weather in Paris?"
TOOL_RESULT = "file-0123456789ab: sunny, 21 degrees"


# The server's tool call names its argument after the API: query (chat completions), city (Responses).
@function_tool
def knowledge_search(query: str) -> str:
    """Search the knowledge base."""
    return TOOL_RESULT


@function_tool
def city_weather(city: str) -> str:
    """The weather in a city."""
    return TOOL_RESULT


MODELS: dict[str, tuple[Callable[[openai.AsyncOpenAI], Model], Tool]] = {
    "chat": (lambda client: OpenAIChatCompletionsModel("gpt-4o", client), knowledge_search),
    "responses": (lambda client: OpenAIResponsesModel("gpt-4.1", client), city_weather),
}


@pytest.fixture(autouse=True)
def _no_trace_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep the key of the environment running the suite away from the SDK's trace exporter."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    agents.set_tracing_export_api_key("")  # the exporter keeps a key it once found in the environment
    yield
    agents.set_tracing_export_api_key("")


def seen(result: RunResult | RunResultStreaming, pieces: list[str] | None = None) -> dict[str, Any]:
    """What the application gets from a run: its items (tool call, tool output, message), output, usage."""
    items: list[tuple[Any, ...]] = []
    for item in result.new_items:
        if isinstance(item, ToolCallItem):
            raw: Any = item.raw_item
            items.append(("call", raw.name, json.loads(raw.arguments), raw.call_id))
        elif isinstance(item, ToolCallOutputItem):
            items.append(("output", item.output, _call_id(item.raw_item)))
        elif isinstance(item, MessageOutputItem):
            items.append(("message", ItemHelpers.text_message_output(item)))
    usage = result.context_wrapper.usage
    tokens = (usage.requests, usage.input_tokens, usage.output_tokens, usage.total_tokens)
    return {"output": result.final_output, "items": items, "usage": tokens, "pieces": pieces}


def _call_id(raw: Any) -> Any:
    return raw["call_id"] if isinstance(raw, dict) else raw.call_id


def agent_on(api: str, client: openai.AsyncOpenAI) -> Agent:
    make_model, tool = MODELS[api]
    return Agent(name="assistant", instructions="Answer briefly.", model=make_model(client), tools=[tool])


def client_for(server: Server) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.base_url, api_key="test-key", max_retries=0)


async def run(api: str, server: Server) -> dict[str, Any]:
    async with client_for(server) as client:
        return seen(await Runner.run(agent_on(api, client), PROMPT))


async def run_streamed(api: str, server: Server) -> dict[str, Any]:
    async with client_for(server) as client:
        result = Runner.run_streamed(agent_on(api, client), PROMPT)
        pieces = [
            event.data.delta
            async for event in result.stream_events()
            if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent)
        ]
        return seen(result, pieces)


def run_sync(api: str, server: Server) -> dict[str, Any]:
    client = client_for(server)
    result = seen(Runner.run_sync(agent_on(api, client), PROMPT))
    # run_sync runs on the thread's default event loop and leaves it open; the client's connections live
    # in it, so both are closed there, as an application would at exit.
    loop = asyncio.get_event_loop_policy().get_event_loop()
    loop.run_until_complete(client.close())
    loop.close()
    asyncio.set_event_loop(None)
    return result


@pytest.mark.parametrize("api", list(MODELS))
@pytest.mark.parametrize("how", [run, run_sync, run_streamed], ids=lambda how: how.__name__)
def test_agent_with_a_tool_replays_offline(
    api: str, how: Callable[[str, Server], Any], server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    # Given the agent's run recorded against the live server, when it runs again with the server gone,
    # then it gets the same items, output and usage (round_trip compares them, and checks no socket opened)
    recorded = roundtrip.round_trip(server, tmp_path, network, lambda: how(api, server))
    (call, name, arguments, call_id), output, message = recorded["items"]
    assert (call, name, list(arguments.values())) == ("call", MODELS[api][1].name, [PROMPT])
    assert output == ("output", TOOL_RESULT, call_id)
    assert message == ("message", recorded["output"])
    assert TOOL_RESULT in recorded["output"]
    assert recorded["usage"][0] == 2
    if how is run_streamed:
        assert "".join(recorded["pieces"]) == recorded["output"]


def test_default_tracing_is_answered_offline_in_replay(
    server: Server,
    tmp_path: Path,
    network: NetworkGuard,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    agents.flush_traces()  # what earlier tests left queued goes now, without a key: not exported
    # Given a run recorded with tracing on (the default) and no OpenAI key in the environment: no export
    with llmtape.tape(tmp_path, mode="record"):
        recorded = roundtrip.run(lambda: run("responses", server))
        agents.flush_traces()
    server.stop()
    network.block()
    # When it replays where the environment holds a key, as on a developer's machine, so that the SDK posts
    # its traces to https://api.openai.com/v1/traces/ingest; the export its background thread would make
    # seconds later, perhaps during another test, is made now, inside this one
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with caplog.at_level(logging.DEBUG, logger="openai.agents"), llmtape.tape(tmp_path) as replay:
        replayed = roundtrip.run(lambda: run("responses", server))
        agents.flush_traces()
    # Then the run replays and the traces are accepted without a socket being opened: leaving the tape raised
    # no miss, nothing was recorded, and the exporter logged a successful export (it does below status 300)
    # and no failed one (its failures and retries are all logged as "[non-fatal] Tracing ...")
    assert replayed == recorded
    assert network.attempts == []
    assert [(c.endpoint, c.outcome) for c in replay.calls] == [
        ("/v1/responses", llmtape.Outcome.REPLAYED)
    ] * 2
    messages = [record.getMessage() for record in caplog.records]
    assert any(message.startswith("Exported ") for message in messages), messages
    assert [message for message in messages if "[non-fatal]" in message] == []
