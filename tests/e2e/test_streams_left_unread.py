"""A stream the application stops reading is still recorded whole, and its lock is let go.

litellm's Anthropic streaming reads up to ``message_delta`` and neither reads ``message_stop``
nor closes the stream; many applications break out of a stream at ``finish_reason``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import warnings
from pathlib import Path

import anthropic
import openai

import llmtape
from llmtape.locks import lock_folder
from tests.conftest import NetworkGuard, Server

MESSAGES = [{"role": "user", "content": "stop early"}]


def events_of(path: Path) -> list[str]:
    return [chunk.get("__event__", "") for chunk in json.loads(path.read_text())["response"]["body"]]


def anthropic_until_message_delta(client: anthropic.Anthropic) -> list[str]:
    seen = []
    for event in client.messages.create(model="claude", max_tokens=50, messages=MESSAGES, stream=True):
        seen.append(event.type)
        if event.type == "message_delta":
            break  # and the stream is never closed
    return seen


def test_a_sync_stream_read_up_to_message_delta_and_never_closed_is_recorded_whole(
    server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    base_url = f"http://127.0.0.1:{server.port}"
    with (
        anthropic.Anthropic(base_url=base_url, api_key="k", max_retries=0) as client,
        llmtape.tape(tmp_path, mode="record") as recording,
    ):
        recorded = anthropic_until_message_delta(client)  # the client stays open, as litellm's does
    (path,) = tmp_path.glob("*.json")
    assert events_of(path)[-2:] == ["message_delta", "message_stop"]
    assert [c.outcome for c in recording.calls] == ["recorded"]
    assert list(lock_folder(tmp_path).iterdir()) == []
    server.stop()
    network.block()
    with (
        anthropic.Anthropic(base_url=base_url, api_key="k", max_retries=0) as client,
        llmtape.tape(tmp_path) as replay,
    ):
        assert anthropic_until_message_delta(client) == recorded
    assert [c.outcome for c in replay.calls] == ["replayed"]


def test_an_async_stream_read_up_to_message_delta_and_never_closed_is_recorded_whole(
    server: Server, tmp_path: Path
) -> None:
    base_url = f"http://127.0.0.1:{server.port}"
    clients = [anthropic.AsyncAnthropic(base_url=base_url, api_key="k", max_retries=0)]

    async def until_message_delta() -> list[str]:
        seen = []
        stream = await clients[0].messages.create(
            model="claude", max_tokens=50, messages=MESSAGES, stream=True
        )
        async for event in stream:
            seen.append(event.type)
            if event.type == "message_delta":
                break
        return seen

    with llmtape.tape(tmp_path, mode="record") as recording:
        assert asyncio.run(until_message_delta())[-1] == "message_delta"
    # Like litellm, the application keeps its client past the event loop's end: the idle
    # connection left in its pool is the application's to close, and cannot be closed any more.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        clients.clear()
        gc.collect()
    (path,) = tmp_path.glob("*.json")
    assert events_of(path)[-1] == "message_stop"
    assert [c.outcome for c in recording.calls] == ["recorded"]
    assert list(lock_folder(tmp_path).iterdir()) == []


def test_a_stream_left_at_finish_reason_is_recorded_with_its_usage_and_done(
    server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    def until_finish() -> str:
        with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
            text = ""
            usage = {"include_usage": True}
            with client.chat.completions.create(
                model="m", messages=MESSAGES, stream=True, stream_options=usage
            ) as chunks:
                for chunk in chunks:
                    text += chunk.choices[0].delta.content or "" if chunk.choices else ""
                    if chunk.choices and chunk.choices[0].finish_reason:
                        break
            return text

    with llmtape.tape(tmp_path, mode="record"):
        recorded = until_finish()
    (path,) = tmp_path.glob("*.json")
    stored = json.loads(path.read_text())["response"]
    assert stored["sse_done"] is True
    assert stored["body"][-1]["__data__"]["usage"] is not None  # the chunk after finish_reason
    server.stop()
    network.block()
    with llmtape.tape(tmp_path):
        assert until_finish() == recorded
