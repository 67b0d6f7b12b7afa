"""pydantic-ai agents on an OpenAI chat model, an OpenAI Responses model and an Anthropic model, each with a
tool the agent calls, through ``run_sync``, ``run`` and ``run_stream``, under llmtape's default
configuration: the two-request conversation (the tool call, then the answer) recorded against the live
server replays offline, and the agent ends with the same messages, output and usage."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models import Model
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
from pydantic_ai.providers.anthropic import AnthropicProvider
from pydantic_ai.providers.openai import OpenAIProvider

from tests.conftest import NetworkGuard, Server
from tests.e2e.roundtrip import round_trip

PROMPT = "What is the weather in Paris?"
TOOL_RESULT = "file-0123456789ab: sunny, 21 degrees"


# The server names the argument of its tool call after the API: query (chat), city (Responses),
# location (Anthropic).
def knowledge_search(query: str) -> str:
    """Search the knowledge base."""
    return TOOL_RESULT


def city_weather(city: str) -> str:
    """The weather in a city."""
    return TOOL_RESULT


def weather(location: str) -> str:
    """The weather at a place."""
    return TOOL_RESULT


def chat_model(root: str) -> Model:
    return OpenAIChatModel("gpt-4o", provider=OpenAIProvider(base_url=f"{root}/v1", api_key="test-key"))


def responses_model(root: str) -> Model:
    return OpenAIResponsesModel("gpt-4.1", provider=OpenAIProvider(base_url=f"{root}/v1", api_key="test-key"))


def anthropic_model(root: str) -> Model:
    return AnthropicModel("claude-sonnet-4-5", provider=AnthropicProvider(base_url=root, api_key="test-key"))


APIS: dict[str, tuple[Callable[[str], Model], Callable[[str], str]]] = {
    "chat": (chat_model, knowledge_search),
    "responses": (responses_model, city_weather),
    "anthropic": (anthropic_model, weather),
}


def parts(messages: list[ModelMessage]) -> list[tuple[Any, ...]]:
    """The conversation as the agent keeps it, without the timestamps it stamps on each message."""
    seen: list[tuple[Any, ...]] = []
    for message in messages:
        for part in message.parts:
            if isinstance(part, ToolCallPart):
                seen.append(("call", part.tool_name, part.args_as_dict(), part.tool_call_id))
            elif isinstance(part, ToolReturnPart):
                seen.append(("return", part.tool_name, part.content, part.tool_call_id))
            elif isinstance(part, TextPart):
                seen.append(("text", part.content))
    return seen


def outcome(output: str, messages: list[ModelMessage], usage: Any, pieces: list[str] | None = None) -> Any:
    tokens = (usage.input_tokens, usage.output_tokens, usage.requests, usage.tool_calls)
    return {"output": output, "pieces": pieces, "parts": parts(messages), "usage": tokens}


def run_sync(agent: Agent) -> Any:
    result = agent.run_sync(PROMPT)
    close_sync_loop(agent)
    return outcome(result.output, result.all_messages(), result.usage)


def close_sync_loop(agent: Agent) -> None:
    """Close the event loop pydantic-ai keeps for its next sync call, and the model's connections open in it,
    which pytest would otherwise report as leaked."""
    loop = asyncio.get_event_loop_policy().get_event_loop()
    loop.run_until_complete(enter_and_leave(agent))
    loop.close()
    asyncio.set_event_loop(None)


async def enter_and_leave(agent: Agent) -> None:
    async with agent:  # leaving the last entry closes the HTTP client its model's provider made
        pass


async def run(agent: Agent) -> Any:
    async with agent:
        result = await agent.run(PROMPT)
    return outcome(result.output, result.all_messages(), result.usage)


async def run_stream(agent: Agent) -> Any:
    async with agent, agent.run_stream(PROMPT) as stream:
        pieces = [piece async for piece in stream.stream_text(delta=True)]
        output = await stream.get_output()
        return outcome(output, stream.all_messages(), stream.usage, pieces)


@pytest.mark.parametrize("api", list(APIS))
@pytest.mark.parametrize("how", [run_sync, run, run_stream], ids=lambda how: how.__name__)
def test_agent_with_a_tool_replays_offline(
    api: str, how: Callable[[Agent], Any], server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    make_model, tool = APIS[api]
    root = server.base_url.removesuffix("/v1")
    # A fresh agent for each run, as a test would build it: nothing is carried from recording to replay.
    conversation = lambda: how(Agent(make_model(root), tools=[tool]))  # noqa: E731
    # Given the agent's run recorded against the live server, when it runs again with the server gone,
    # then it sees the same conversation (round_trip compares them and checks no socket was opened)
    recorded = round_trip(server, tmp_path, network, conversation)
    call, returned, answer = recorded["parts"][-3:]
    assert call[:3] == ("call", tool.__name__, {next(iter(call[2])): PROMPT})
    assert returned == ("return", tool.__name__, TOOL_RESULT, call[3])
    assert answer == ("text", recorded["output"])
    assert TOOL_RESULT in recorded["output"]
    assert recorded["usage"][2:] == (2, 1)  # two requests, one tool call
    if how is run_stream:
        assert "".join(recorded["pieces"]) == recorded["output"]
