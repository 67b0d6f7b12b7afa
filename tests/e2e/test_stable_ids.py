"""Stable ids: a multi-turn tool-calling conversation recorded twice against stand-ins that make up fresh
ids and times on every call gives byte-identical recordings, for OpenAI (chat completions, and the
stateful Responses and Files APIs, whose ids come back in later requests' bodies and URLs), Anthropic and
Gemini, sync and async; the application sees the stable ids while recording as on replay, and the live
server still gets its own ids back (the stateful stand-in answers an unknown id with a 404)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import anthropic
import openai
import pytest
from google import genai
from google.genai import types
from google.oauth2.credentials import Credentials

import llmtape
from tests.conftest import NetworkGuard, Server, start_server

# google-genai's async client subclasses aiohttp's session, which aiohttp warns about.
pytestmark = pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning")
T = TypeVar("T")
ASK: Any = [{"role": "user", "content": "What is the weather in Paris?"}]
OPENAI_TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    }
]
ANTHROPIC_TOOLS: Any = [
    {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {}}}}
]
GEMINI_TOOLS = [
    types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="get_weather",
                parameters=types.Schema(type="OBJECT", properties={"city": types.Schema(type="STRING")}),
            )
        ]
    )
]


async def ready(value: T | Awaitable[T]) -> T:
    """What an SDK call gave: the async client's result awaited, the sync client's as it is."""
    return await value if inspect.isawaitable(value) else value


async def openai_chat(server: Server, kind: str) -> list[Any]:
    """Ask, get a tool call, send its result back under its id, get the answer; the second turn streamed."""
    make = openai.OpenAI if kind == "sync" else openai.AsyncOpenAI
    client = make(base_url=server.base_url, api_key="test-key", max_retries=0)
    try:
        first = await ready(client.chat.completions.create(model="gpt-4o", messages=ASK, tools=OPENAI_TOOLS))
        message = first.choices[0].message
        call = message.tool_calls[0]
        turns = [
            *ASK,
            message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "18 degrees and sunny"},
        ]
        stream = await ready(
            client.chat.completions.create(model="gpt-4o", messages=turns, tools=OPENAI_TOOLS, stream=True)
        )
        if kind == "sync":
            chunks = [chunk.model_dump() for chunk in stream]
        else:
            chunks = [chunk.model_dump() async for chunk in stream]
        return [first.model_dump(), chunks]
    finally:
        await ready(client.close())


async def anthropic_tools(server: Server, kind: str) -> list[Any]:
    make = anthropic.Anthropic if kind == "sync" else anthropic.AsyncAnthropic
    client = make(base_url=f"http://127.0.0.1:{server.port}", api_key="test-key", max_retries=0)
    try:
        first = await ready(
            client.messages.create(
                model="claude-sonnet-4-5", max_tokens=100, messages=ASK, tools=ANTHROPIC_TOOLS
            )
        )
        use = next(block for block in first.content if block.type == "tool_use")
        turns = [
            *ASK,
            {"role": "assistant", "content": [block.model_dump() for block in first.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "18 degrees"}],
            },
        ]
        second = await ready(
            client.messages.create(
                model="claude-sonnet-4-5", max_tokens=100, messages=turns, tools=ANTHROPIC_TOOLS
            )
        )
        return [first.model_dump(), second.model_dump()]
    finally:
        await ready(client.close())


async def gemini_tools(server: Server, kind: str) -> list[Any]:
    client = genai.Client(
        vertexai=True,
        project="test-project",
        location="us-central1",
        credentials=Credentials(token="test-token"),  # a fixed token: no network to refresh it
        http_options=types.HttpOptions(base_url=f"http://127.0.0.1:{server.port}"),
    )
    models = client.models if kind == "sync" else client.aio.models
    config = types.GenerateContentConfig(tools=GEMINI_TOOLS)
    asked = types.Content(role="user", parts=[types.Part(text="What is the weather in Paris?")])
    try:
        first = await ready(
            models.generate_content(model="gemini-2.5-flash", contents=[asked], config=config)
        )
        call = first.candidates[0].content.parts[0].function_call
        answer = types.Part(function_response=types.FunctionResponse(name=call.name, response={"temp": 18}))
        turns = [asked, first.candidates[0].content, types.Content(role="user", parts=[answer])]
        second = await ready(models.generate_content(model="gemini-2.5-flash", contents=turns, config=config))
        return [first.model_dump(mode="json"), second.model_dump(mode="json")]
    finally:
        client.close()
        await client.aio.aclose()


async def openai_stateful(server: Server, kind: str) -> list[Any]:
    """A file uploaded, then fetched by its id in the URL; a response, continued by previous_response_id."""
    make = openai.OpenAI if kind == "sync" else openai.AsyncOpenAI
    client = make(base_url=server.base_url, api_key="test-key", max_retries=0)
    try:
        uploaded = await ready(
            client.files.create(file=("notes.txt", b"Paris is sunny."), purpose="assistants")
        )
        fetched = await ready(client.files.retrieve(uploaded.id))
        first = await ready(client.responses.create(model="gpt-4o-mini", input="My name is Ada."))
        second = await ready(
            client.responses.create(
                model="gpt-4o-mini", input="What is my name?", previous_response_id=first.id
            )
        )
        return [uploaded.model_dump(), fetched.model_dump(), first.model_dump(), second.model_dump()]
    finally:
        await ready(client.close())


CONVERSATIONS: dict[str, tuple[Callable[[Server, str], Awaitable[list[Any]]], list[str]]] = {
    "openai-chat": (openai_chat, []),
    "anthropic": (anthropic_tools, []),
    "gemini-vertex": (gemini_tools, []),
    "openai-stateful": (openai_stateful, ["--random-ids"]),
}
STATEFUL = "tests.servers.openai_stateful"


@pytest.fixture(params=list(CONVERSATIONS))
def conversation(request: pytest.FixtureRequest) -> Iterator[tuple[str, Server]]:
    name = str(request.param)
    module = STATEFUL if name == "openai-stateful" else "tests.servers.openai_server"
    live = start_server(*CONVERSATIONS[name][1], module=module)
    yield name, live
    live.stop()


def talk(name: str, server: Server, kind: str) -> list[Any]:
    return asyncio.run(CONVERSATIONS[name][0](server, kind))


def contents(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.json"))}


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_recording_a_conversation_twice_gives_the_same_bytes(
    kind: str, conversation: tuple[str, Server], tmp_path: Path, network: NetworkGuard
) -> None:
    name, server = conversation
    first, second = tmp_path / "first", tmp_path / "second"
    # Given the same conversation recorded twice, each time against fresh ids and times
    with llmtape.tape(first, mode="record", timing=False):
        seen_first = talk(name, server, kind)
    with llmtape.tape(second, mode="record", timing=False):
        seen_second = talk(name, server, kind)
    # Then the files are byte for byte the same, and so is what the application saw
    assert contents(first) == contents(second)
    assert len(contents(first)) >= 2
    assert seen_first == seen_second
    # And replay, offline, gives the application the very same ids
    network.block()
    with llmtape.tape(first):
        assert talk(name, server, kind) == seen_first
    assert network.attempts == []


def test_with_the_providers_own_ids_two_recordings_differ(
    conversation: tuple[str, Server], tmp_path: Path
) -> None:
    # The control: the stand-ins do make up fresh ids, so raw recordings differ (and the test above can fail)
    name, server = conversation
    with llmtape.tape(tmp_path / "a", mode="record", timing=False, stable_ids=False):
        talk(name, server, "sync")
    with llmtape.tape(tmp_path / "b", mode="record", timing=False, stable_ids=False):
        talk(name, server, "sync")
    assert contents(tmp_path / "a") != contents(tmp_path / "b")


def test_recording_again_over_the_same_answers_changes_no_byte(
    conversation: tuple[str, Server], tmp_path: Path
) -> None:
    # Given a conversation recorded with its timing
    name, server = conversation
    with llmtape.tape(tmp_path, mode="record"):
        talk(name, server, "sync")
    before = contents(tmp_path)
    # When it is recorded again (rewrite mode), the model answering as before
    with llmtape.tape(tmp_path, mode="rewrite") as again:
        talk(name, server, "sync")
    assert {c.outcome for c in again.calls} == {llmtape.Outcome.RECORDED}
    # Then no file changed, not even its timing: a re-recording changes only what the model said
    assert contents(tmp_path) == before
