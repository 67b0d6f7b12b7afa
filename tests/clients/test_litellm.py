"""litellm's ``completion`` and ``acompletion``, streamed and not, for an OpenAI, an Anthropic and a Gemini
model, under llmtape's default configuration: a tool-call conversation recorded against the live server
replays offline, and the application sees the same text, tool calls and usage."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# litellm fetches its model cost map from the internet on import unless told to use its bundled copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm
import pytest

from tests.conftest import NetworkGuard, Server
from tests.e2e.roundtrip import round_trip

pytestmark = [
    # litellm imports its GitHub Copilot module on the first call; pydantic warns about a TypedDict in it.
    pytest.mark.filterwarnings("ignore:Items? .* the `ReadOnly` qualifier:UserWarning"),
    # litellm's stream handler reads every attribute of a chunk, pydantic's deprecated ones included.
    pytest.mark.filterwarnings(
        r"ignore:Accessing the 'model_\w+' attribute on the instance:DeprecationWarning"
    ),
]

QUESTION = "What is the weather in Paris?"
TOOL_RESULT = "file-0123456789ab: sunny, 21 degrees"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
        },
    }
]
# The model, and where its API lives on the server (the server's root URL given).
MODELS = {
    "openai": ("openai/gpt-4o", "{root}/v1"),
    "anthropic": ("anthropic/claude-sonnet-4-5", "{root}"),
    "gemini": ("gemini/gemini-2.5-flash", "{root}/v1beta"),
}


@pytest.fixture(autouse=True)
def _litellm_leftovers() -> Iterator[None]:
    """Close what litellm leaves open after a test, which pytest would otherwise report as leaked."""
    yield
    # litellm caches the clients it builds, with their connection pools, and never closes them.
    cache = litellm.in_memory_llm_clients_cache
    for client in list(cache.cache_dict.values()):
        close = getattr(client, "close", None)
        if callable(close) and not inspect.iscoroutinefunction(close):
            close()
    cache.flush_cache()
    # Its service logger calls asyncio.get_event_loop() in sync calls, which may set a loop nobody closes.
    with warnings.catch_warnings(), contextlib.suppress(RuntimeError):  # RuntimeError: no loop is set
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.get_event_loop_policy().get_event_loop().close()
        asyncio.set_event_loop(None)


def seen(response: Any) -> dict[str, Any]:
    """What an application takes from a whole answer: text, tool calls, finish reason and usage."""
    choice, usage = response.choices[0], response.usage
    return {
        "text": choice.message.content,
        "tools": [
            (c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls or []
        ],
        "finish": choice.finish_reason,
        "usage": (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
    }


def answered(response: Any, messages: list[dict[str, Any]]) -> tuple[dict[str, Any], str | None]:
    """What the application sees of an answer, whole or a stream's chunks (then also the text pieces as they
    arrived, and the answer litellm assembles from them), with the id of its tool call."""
    if not isinstance(response, list):
        return seen(response), _call_id(response)
    pieces = [c.choices[0].delta.content for c in response if c.choices and c.choices[0].delta.content]
    whole = litellm.stream_chunk_builder(response, messages=messages)
    return {"pieces": pieces, **seen(whole)}, _call_id(whole)


def _call_id(response: Any) -> str | None:
    calls = response.choices[0].message.tool_calls or []
    return calls[0].id if calls else None


def options(model: str, api_base: str, stream: bool) -> dict[str, Any]:
    extra = {"stream": True, "stream_options": {"include_usage": True}} if stream else {}
    return {"model": model, "api_base": api_base, "api_key": "test-key", "tools": TOOLS, **extra}


def follow_up(messages: list[dict[str, Any]], answer: dict[str, Any], call_id: str) -> list[dict[str, Any]]:
    """The conversation after the assistant's tool call, with the tool's result under that call's id."""
    name, arguments = answer["tools"][0]
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
    assistant = {"role": "assistant", "content": answer["text"], "tool_calls": [call]}
    return [*messages, assistant, {"role": "tool", "tool_call_id": call_id, "content": TOOL_RESULT}]


def ask(messages: list[dict[str, Any]], **settings: Any) -> tuple[dict[str, Any], str | None]:
    response = litellm.completion(messages=messages, **settings)
    return answered(list(response) if settings.get("stream") else response, messages)


async def aask(messages: list[dict[str, Any]], **settings: Any) -> tuple[dict[str, Any], str | None]:
    response = await litellm.acompletion(messages=messages, **settings)
    return answered([c async for c in response] if settings.get("stream") else response, messages)


def talk(**settings: Any) -> list[dict[str, Any]]:
    """Ask a question the model answers with a tool call, then send the tool's result back."""
    messages = [{"role": "user", "content": QUESTION}]
    first, call_id = ask(messages, **settings)
    second, _ = ask(follow_up(messages, first, str(call_id)), **settings)
    return [first, second]


async def atalk(**settings: Any) -> list[dict[str, Any]]:
    messages = [{"role": "user", "content": QUESTION}]
    first, call_id = await aask(messages, **settings)
    second, _ = await aask(follow_up(messages, first, str(call_id)), **settings)
    await close_async_clients()
    return [first, second]


async def close_async_clients() -> None:
    """Close litellm's async clients in the event loop they belong to, and let the next loop build its own.

    litellm keeps them (and an Anthropic stream it never closes) past the loop's end, and would reuse them
    in the next ``asyncio.run``, where it can no longer close their connections.
    """
    await litellm.close_litellm_async_clients()
    litellm.in_memory_llm_clients_cache.flush_cache()
    vars(litellm).pop("module_level_aclient", None)  # a singleton litellm makes on first use


@pytest.mark.parametrize("provider", list(MODELS))
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_tool_conversation_replays_offline(
    provider: str, stream: bool, asynchronous: bool, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    model, base = MODELS[provider]
    settings = options(model, base.format(root=server.base_url.removesuffix("/v1")), stream)
    # The async calls go over litellm's aiohttp transport, its default, left on.
    assert litellm.disable_aiohttp_transport is False
    conversation = (lambda: atalk(**settings)) if asynchronous else (lambda: talk(**settings))
    # Given a conversation recorded against the live server, when it runs again with the server gone,
    # then it sees the same answers (round_trip compares them and checks no socket was opened)
    first, second = round_trip(server, tmp_path, network, conversation)
    assert [(name, list(arguments.values())) for name, arguments in first["tools"]] == [
        ("get_weather", [QUESTION])
    ]
    assert first["finish"] == "tool_calls"
    assert TOOL_RESULT in second["text"]
    assert second["tools"] == []
    assert all(total > 0 for *_, total in (first["usage"], second["usage"]))
