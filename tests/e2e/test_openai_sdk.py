"""The openai 3.x SDK (on httpx2), sync and async: record against a live server, replay offline."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionChunk

import llmtape
from tests.conftest import NetworkGuard, Server

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "knowledge_search",
            "description": "Search the knowledge base.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    }
]


def summarize(chunks: list[ChatCompletionChunk]) -> dict[str, Any]:
    """What a streaming application takes from the chunks: text, tool arguments, finish, ids."""
    text, tool_args, finish = [], [], None
    for chunk in chunks:
        for choice in chunk.choices:
            text.append(choice.delta.content or "")
            tool_args += [c.function.arguments or "" for c in choice.delta.tool_calls or [] if c.function]
            finish = choice.finish_reason or finish
    ids = {chunk.id for chunk in chunks}
    return {"text": "".join(text), "args": "".join(tool_args), "finish": finish, "ids": ids}


def stream_result(client: openai.OpenAI, **extra: Any) -> dict[str, Any]:
    with client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}, **extra
    ) as stream:
        return summarize(list(stream))


async def astream_result(client: openai.AsyncOpenAI, **extra: Any) -> dict[str, Any]:
    stream = await client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}, **extra
    )
    async with stream:
        return summarize([chunk async for chunk in stream])


def plain_result(client: openai.OpenAI, **extra: Any) -> dict[str, Any]:
    completion = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, **extra)
    return completion.model_dump()


async def aplain_result(client: openai.AsyncOpenAI, **extra: Any) -> dict[str, Any]:
    completion = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, **extra)
    return completion.model_dump()


async def arun(kind: str, base_url: str, **extra: Any) -> dict[str, Any]:
    async with openai.AsyncOpenAI(base_url=base_url, api_key="test-key", max_retries=0) as asynchronous:
        if kind == "async-stream":
            return await astream_result(asynchronous, **extra)
        return await aplain_result(asynchronous, **extra)


def run(kind: str, base_url: str, **extra: Any) -> dict[str, Any]:
    if kind.startswith("async"):
        return asyncio.run(arun(kind, base_url, **extra))
    with openai.OpenAI(base_url=base_url, api_key="test-key", max_retries=0) as sync:
        if kind == "sync-stream":
            return stream_result(sync, **extra)
        return plain_result(sync, **extra)


KINDS = ["sync-stream", "sync-plain", "async-stream", "async-plain"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("tools", [False, True], ids=["text", "tool-call"])
def test_record_then_replay_offline(
    kind: str, tools: bool, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    extra = {"tools": TOOLS, "tool_choice": "required"} if tools else {}
    # Given a recording made against the live server
    with llmtape.tape(tmp_path, mode="record") as recording:
        recorded = run(kind, server.base_url, **extra)
    assert [c.outcome for c in recording.calls] == [llmtape.Outcome.RECORDED]
    assert server.served() == 1
    # When the server is gone and every socket is refused
    server.stop()
    network.block()
    with llmtape.tape(tmp_path) as replay:
        replayed = run(kind, server.base_url, **extra)
    # Then the client gets exactly what it got while recording, without a connection attempt
    assert replayed == recorded
    assert [c.outcome for c in replay.calls] == [llmtape.Outcome.REPLAYED]
    assert network.attempts == []
    if tools:
        assert json.loads(recorded["args"] if "stream" in kind else _tool_args(recorded)) == {
            "query": "What is the capital of France?"
        }
    else:
        text = recorded["text"] if "stream" in kind else recorded["choices"][0]["message"]["content"]
        assert text.startswith("You said: What is the capital of France?")


def _tool_args(completion: dict[str, Any]) -> str:
    return completion["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
