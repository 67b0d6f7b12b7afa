"""Each wire format round-trips through its official client: record, then replay offline, equal results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import ollama
import openai
import pytest

from tests.conftest import NetworkGuard, Server
from tests.e2e.roundtrip import round_trip

SYNC_ASYNC = pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
WEATHER = {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}


def stored(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


# OpenAI Responses API


@SYNC_ASYNC
def test_responses_text_stream(
    server: Server, tmp_path: Path, network: NetworkGuard, asynchronous: bool
) -> None:
    def sync() -> list[tuple[str, str]]:
        with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
            stream = client.responses.create(model="gpt-4.1", input="Tell me about otters", stream=True)
            return [(e.type, getattr(e, "delta", "")) for e in stream]

    async def asynchronous_() -> list[tuple[str, str]]:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
            stream = await client.responses.create(model="gpt-4.1", input="Tell me about otters", stream=True)
            return [(e.type, getattr(e, "delta", "")) async for e in stream]

    events = round_trip(server, tmp_path, network, asynchronous_ if asynchronous else sync)
    assert events[0][0] == "response.created"
    assert events[-1][0] == "response.completed"
    assert "".join(d for t, d in events if t == "response.output_text.delta") == "Echo: Tell me about otters"
    (recording,) = stored(tmp_path)
    chunks = recording["response"]["body"]
    assert chunks[0]["__event__"] == "response.created"
    assert chunks[0]["__type__"] == "openai.types.responses.response_created_event.ResponseCreatedEvent"
    assert "sse_done" in recording["response"]
    assert recording["response"]["sse_done"] is False


def test_responses_function_call_arguments_and_helper(
    server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    tool = {"type": "function", "name": "get_weather", "parameters": WEATHER}

    def call() -> tuple[str, str, str]:
        with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
            stream = client.responses.create(model="gpt-4.1", input="Paris", tools=[tool], stream=True)
            deltas = "".join(e.delta for e in stream if e.type == "response.function_call_arguments.delta")
            with client.responses.stream(model="gpt-4.1", input="Paris", tools=[tool]) as helper:
                final = helper.get_final_response()
        item = final.output[0]
        assert item.type == "function_call"
        return deltas, item.arguments, item.name

    deltas, arguments, name = round_trip(server, tmp_path, network, call)
    assert json.loads(deltas) == json.loads(arguments) == {"location": "Paris"}
    assert name == "get_weather"


def test_responses_plain(server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    def call() -> str:
        with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
            return client.responses.create(model="gpt-4.1", input="Hello").output_text

    assert round_trip(server, tmp_path, network, call) == "Echo: Hello"
    (recording,) = stored(tmp_path)
    assert recording["response"]["body"]["__type__"] == "openai.types.responses.response.Response"


# OpenAI embeddings, legacy completions, models


@SYNC_ASYNC
def test_embeddings_completions_and_models(
    server: Server, tmp_path: Path, network: NetworkGuard, asynchronous: bool
) -> None:
    def sync() -> tuple[Any, ...]:
        with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
            vectors = client.embeddings.create(model="e", input=["a", "bbb"], encoding_format="float")
            text = client.completions.create(model="c", prompt="Once upon", max_tokens=5).choices[0].text
            pieces = [
                c.choices[0].text for c in client.completions.create(model="c", prompt="A time", stream=True)
            ]
            return [d.embedding for d in vectors.data], text, pieces, [m.id for m in client.models.list()]

    async def asynchronous_() -> tuple[Any, ...]:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
            vectors = await client.embeddings.create(model="e", input=["a", "bbb"], encoding_format="float")
            completion = await client.completions.create(model="c", prompt="Once upon", max_tokens=5)
            stream = await client.completions.create(model="c", prompt="A time", stream=True)
            pieces = [c.choices[0].text async for c in stream]
            return (
                [d.embedding for d in vectors.data],
                completion.choices[0].text,
                pieces,
                [m.id async for m in client.models.list()],
            )

    vectors, text, pieces, models = round_trip(
        server, tmp_path, network, asynchronous_ if asynchronous else sync
    )
    assert vectors == [[0.1, 0.5, -0.25], [0.3, 0.5, -0.25]]
    assert text == "Continued: Once upon"
    assert "".join(pieces) == "Continued: A time"
    assert models == ["gpt-4o-2024-08-06"]
    types = {r["request"]["endpoint"]: r["response"]["body"] for r in stored(tmp_path)}
    assert (
        types["/v1/embeddings"]["__type__"]
        == "openai.types.create_embedding_response.CreateEmbeddingResponse"
    )


# Anthropic Messages


@SYNC_ASYNC
def test_anthropic_messages_text_and_stream_helper(
    server: Server, tmp_path: Path, network: NetworkGuard, asynchronous: bool
) -> None:
    base_url = f"http://127.0.0.1:{server.port}"
    messages = [{"role": "user", "content": "Bonjour"}]

    def sync() -> tuple[Any, ...]:
        with anthropic.Anthropic(base_url=base_url, api_key="k", max_retries=0) as client:
            plain = client.messages.create(model="claude-example", max_tokens=64, messages=messages)
            with client.messages.stream(model="claude-example", max_tokens=64, messages=messages) as stream:
                pieces = list(stream.text_stream)
                final = stream.get_final_message()
            raw = client.messages.create(
                model="claude-example", max_tokens=32, messages=messages, stream=True
            )
            types = [e.type for e in raw]
        return plain.content[0].text, pieces, final.content[0].text, final.stop_reason, types

    async def asynchronous_() -> tuple[Any, ...]:
        async with anthropic.AsyncAnthropic(base_url=base_url, api_key="k", max_retries=0) as client:
            plain = await client.messages.create(model="claude-example", max_tokens=64, messages=messages)
            async with client.messages.stream(
                model="claude-example", max_tokens=64, messages=messages
            ) as stream:
                pieces = [p async for p in stream.text_stream]
                final = await stream.get_final_message()
            raw = await client.messages.create(
                model="claude-example", max_tokens=32, messages=messages, stream=True
            )
            types = [e.type async for e in raw]
        return plain.content[0].text, pieces, final.content[0].text, final.stop_reason, types

    plain, pieces, final, stop, types = round_trip(
        server, tmp_path, network, asynchronous_ if asynchronous else sync
    )
    assert plain == final == "".join(pieces) == "Echo: Bonjour"
    assert stop == "end_turn"
    assert types[0] == "message_start"
    assert types[-1] == "message_stop"
    streamed = [r for r in stored(tmp_path) if r["response"]["is_streaming"]]
    chunk = streamed[0]["response"]["body"][0]
    # The multi-line data field of message_start was joined and parsed; CRLF and comments were handled.
    assert chunk["__event__"] == "message_start"
    assert chunk["__type__"] == "anthropic.types.raw_message_start_event.RawMessageStartEvent"
    assert [c["__event__"] for c in streamed[0]["response"]["body"]][1] == "ping"


def test_anthropic_tool_use_stream(server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    tools = [{"name": "get_weather", "description": "Weather in a city", "input_schema": WEATHER}]

    def call() -> tuple[Any, ...]:
        with (
            anthropic.Anthropic(
                base_url=f"http://127.0.0.1:{server.port}", api_key="k", max_retries=0
            ) as client,
            client.messages.stream(
                model="claude-example",
                max_tokens=64,
                tools=tools,
                messages=[{"role": "user", "content": "Lyon"}],
            ) as stream,
        ):
            partial = [
                e.delta.partial_json
                for e in stream
                if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
            ]
            final = stream.get_final_message()
        block = final.content[0]
        return partial, block.type, block.name, block.input, final.stop_reason

    partial, kind, name, arguments, stop = round_trip(server, tmp_path, network, call)
    assert len(partial) > 1
    assert (kind, name, arguments, stop) == ("tool_use", "get_weather", {"location": "Lyon"}, "tool_use")


# Ollama native


@SYNC_ASYNC
def test_ollama_chat_generate_and_embed(
    server: Server, tmp_path: Path, network: NetworkGuard, asynchronous: bool
) -> None:
    host = f"http://127.0.0.1:{server.port}"
    messages = [{"role": "user", "content": "Ciao"}]

    def sync() -> tuple[Any, ...]:
        with ollama.Client(host=host) as client:
            streamed = [
                p.message.content for p in client.chat(model="llama3.2", messages=messages, stream=True)
            ]
            whole = client.chat(model="llama3.2", messages=messages, stream=False).message.content
            generated = [p.response for p in client.generate(model="llama3.2", prompt="Tell", stream=True)]
            return streamed, whole, generated, client.embed(model="all-minilm", input=["x", "yy"]).embeddings

    async def asynchronous_() -> tuple[Any, ...]:
        async with ollama.AsyncClient(host=host) as client:
            streamed = [
                p.message.content
                async for p in await client.chat(model="llama3.2", messages=messages, stream=True)
            ]
            whole = (await client.chat(model="llama3.2", messages=messages, stream=False)).message.content
            generated = [
                p.response async for p in await client.generate(model="llama3.2", prompt="Tell", stream=True)
            ]
            return (
                streamed,
                whole,
                generated,
                (await client.embed(model="all-minilm", input=["x", "yy"])).embeddings,
            )

    streamed, whole, generated, vectors = round_trip(
        server, tmp_path, network, asynchronous_ if asynchronous else sync
    )
    assert "".join(streamed) == whole == "Echo: Ciao"
    assert len(streamed) > 2
    assert "".join(generated) == "Continued: Tell"
    assert vectors == [[0.1, 0.25, -0.5], [0.2, 0.25, -0.5]]
    chat = next(
        r
        for r in stored(tmp_path)
        if r["response"]["is_streaming"] and r["request"]["endpoint"] == "/api/chat"
    )
    assert chat["response"]["headers"]["content-type"] == "application/x-ndjson"
    assert {c["__type__"] for c in chat["response"]["body"]} == {"ollama.ChatResponse"}
    assert "sse_done" not in chat["response"]
