"""openai-agents: an agent with a function tool over the Responses and the Chat Completions models, run
async, sync and streamed, recorded against the live server and replayed with it gone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from agents import (
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    function_tool,
)

from tests.conftest import NetworkGuard, Server
from tests.e2e.roundtrip import round_trip


@function_tool
def knowledge_search(query: str) -> str:
    """Search the knowledge base."""
    return f"Chapter 3 covers {query!r}."


MODELS: dict[str, Callable[[openai.AsyncOpenAI], Any]] = {
    "responses": lambda client: OpenAIResponsesModel(model="gpt-4o", openai_client=client),
    "chat": lambda client: OpenAIChatCompletionsModel(model="gpt-4o", openai_client=client),
}


def agent(server: Server, kind: str) -> tuple[Agent[Any], openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test-key", max_retries=0)
    helper = Agent(
        name="helper",
        instructions="Answer from the knowledge base.",
        model=MODELS[kind](client),
        tools=[knowledge_search],
        # The first turn calls the tool, the second answers from its result.
        model_settings=ModelSettings(tool_choice="auto"),
    )
    return helper, client


def summary(result: Any) -> dict[str, Any]:
    """What an application takes from a run: the answer, and each tool call with its arguments and output."""
    calls = [
        (item.raw_item.name if hasattr(item.raw_item, "name") else item.raw_item["name"], item.raw_item)
        for item in result.new_items
        if item.type == "tool_call_item"
    ]
    outputs = [item.output for item in result.new_items if item.type == "tool_call_output_item"]
    return {
        "answer": result.final_output,
        "tools": [name for name, _ in calls],
        "outputs": outputs,
        "turns": len(result.raw_responses),
    }


@pytest.mark.parametrize("kind", sorted(MODELS))
@pytest.mark.parametrize("how", ["run", "run_sync", "run_streamed"])
def test_an_agent_with_a_tool_round_trips(
    kind: str, how: str, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    question = "Where is the refund policy?"

    async def arun() -> dict[str, Any]:
        helper, client = agent(server, kind)
        async with client:
            if how == "run":
                return summary(await Runner.run(helper, question))
            streamed = Runner.run_streamed(helper, question)
            events = [event.type async for event in streamed.stream_events()]
            assert "raw_response_event" in events
            return summary(streamed)

    def run_sync() -> dict[str, Any]:
        # run_sync runs on the thread's default event loop and leaves it open: give it one, and close it.
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        helper, client = agent(server, kind)
        try:
            return summary(Runner.run_sync(helper, question))
        finally:
            loop.run_until_complete(client.close())
            loop.close()
            asyncio.set_event_loop(None)

    result = round_trip(server, tmp_path, network, run_sync if how == "run_sync" else arun)
    assert result["tools"] == ["knowledge_search"]
    assert result["outputs"] == ["Chapter 3 covers 'Where is the refund policy?'."]
    assert result["turns"] == 2
    assert "Chapter 3" in result["answer"]
