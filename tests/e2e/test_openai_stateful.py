"""OpenAI's stateful, multipart and binary APIs through the openai SDK, sync and async: each flow recorded
against the stand-in that keeps state (``tests/servers/openai_stateful.py``), then replayed with the server
gone and every socket refused.

Each flow is written once, for both clients: ``ready`` awaits what the async client returns and passes
the sync client's results through, so the same lines drive ``openai.OpenAI`` and ``openai.AsyncOpenAI``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import inspect
import json
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import openai
import pytest

import llmtape
from tests.conftest import NetworkGuard, Server, start_server
from tests.e2e.roundtrip import round_trip

T = TypeVar("T")
Client = openai.OpenAI | openai.AsyncOpenAI
Flow = Callable[[Any], Awaitable[Any]]

NOTES = b"US technical updates for Q2 2023. New features deployed in the US region."
MEMO = b"EU sales figures for Q3 2023. Enterprise contracts grew by 8% across the EU."
PLAN = b"US promotional campaigns for Q1 2023. Revenue increased by 15% in the US region."
IMAGE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)

# The SDK warns on the calls it marks deprecated (translations, the Assistants API), which are still served.
DEPRECATED = pytest.mark.filterwarnings("ignore:(The Assistants API is )?deprecated:DeprecationWarning")


async def ready(value: T | Awaitable[T]) -> T:
    """What an SDK call gave: the async client's result awaited, the sync client's as it is."""
    return await value if inspect.isawaitable(value) else value


@pytest.fixture
def stateful() -> Iterator[Server]:
    """A fresh stateful OpenAI stand-in for this test, stopped afterwards."""
    live = start_server(module="tests.servers.openai_stateful")
    yield live
    live.stop()


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which openai client drives the flow: ``openai.OpenAI`` or ``openai.AsyncOpenAI``."""
    return str(request.param)


def calling(kind: str, base_url: str, flow: Flow) -> Callable[[], Coroutine[Any, Any, Any]]:
    """A call for ``round_trip``: ``flow`` run with a fresh client of ``kind``, closed afterwards."""

    async def call() -> Any:
        client: Client = (openai.OpenAI if kind == "sync" else openai.AsyncOpenAI)(
            base_url=base_url, api_key="test", max_retries=0
        )
        try:
            return await flow(client)
        finally:
            await ready(client.close())

    return call


def recorded_requests(directory: Path) -> list[tuple[str, str]]:
    """The method and endpoint of each recording in ``directory``."""
    requests = [json.loads(path.read_text())["request"] for path in directory.glob("*.json")]
    return [(request["method"], request["endpoint"]) for request in requests]


def test_files(kind: str, stateful: Server, tmp_path: Path, network: NetworkGuard) -> None:
    document = tmp_path / "memo.txt"
    document.write_bytes(MEMO)

    async def flow(client: Any) -> dict[str, Any]:
        made = await ready(client.files.create(file=("notes.txt", NOTES, "text/plain"), purpose="assistants"))
        from_path = await ready(client.files.create(file=document, purpose="assistants"))
        listed = await ready(client.files.list())
        content = await ready(client.files.content(made.id))
        return {
            "made": [made.model_dump(), from_path.model_dump()],
            "retrieved": (await ready(client.files.retrieve(from_path.id))).model_dump(),
            "listed": [file.id for file in listed.data],
            "content": content.read(),
            "deleted": (await ready(client.files.delete(from_path.id))).model_dump(),
        }

    result = round_trip(stateful, tmp_path / "tape", network, calling(kind, stateful.base_url, flow))
    assert [file["filename"] for file in result["made"]] == ["notes.txt", "memo.txt"]
    assert result["retrieved"]["bytes"] == len(MEMO)
    assert result["listed"] == [result["made"][1]["id"], result["made"][0]["id"]]
    assert result["content"] == NOTES
    assert result["deleted"]["deleted"] is True


def test_vector_stores_poll_until_processed(
    kind: str, stateful: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    async def flow(client: Any) -> dict[str, Any]:
        stores = client.vector_stores
        store = await ready(stores.create(name="updates"))
        notes = await ready(
            client.files.create(file=("notes.txt", NOTES, "text/plain"), purpose="assistants")
        )
        attached = await ready(stores.files.create_and_poll(file_id=notes.id, vector_store_id=store.id))
        uploaded = await ready(
            stores.files.upload_and_poll(vector_store_id=store.id, file=("memo.txt", MEMO, "text/plain"))
        )
        # The helper uploads its files at once and lists them in the order they finished, which differs
        # from run to run: the batch's file_ids are keyed as a set.
        files = [(f"plan-{n}.txt", PLAN + bytes([65 + n]), "text/plain") for n in range(4)]
        batch = await ready(stores.file_batches.upload_and_poll(store.id, files=files))
        found = await ready(stores.search(store.id, query="updates in the US region"))
        return {
            "attached": attached.model_dump(),
            "uploaded": uploaded.model_dump(),
            "batch": batch.model_dump(),
            "store": (await ready(stores.retrieve(store.id))).model_dump(),
            "found": [hit.model_dump() for hit in found.data],
            "deleted": (await ready(stores.delete(store.id))).model_dump(),
        }

    result = round_trip(stateful, tmp_path, network, calling(kind, stateful.base_url, flow))
    assert [result[name]["status"] for name in ("attached", "uploaded", "batch")] == ["completed"] * 3
    assert result["store"]["file_counts"]["completed"] == 6  # notes, memo and the batch's four
    assert result["found"][0]["filename"] == "notes.txt"
    assert result["deleted"]["deleted"] is True
    # The helpers asked until the files were processed: each poll has its recording, replayed in order.
    polls = [endpoint for method, endpoint in recorded_requests(tmp_path) if method == "GET"]
    attached = f"/v1/vector_stores/{result['store']['id']}/files/{result['attached']['id']}"
    assert polls.count(attached) > 1
    assert sum("/file_batches/" in endpoint for endpoint in polls) > 1


def test_conversations_and_responses(
    kind: str, stateful: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    async def flow(client: Any) -> dict[str, Any]:
        first = await ready(client.responses.create(model="gpt-4o-mini", input="My name is Ada."))
        second = await ready(
            client.responses.create(
                model="gpt-4o-mini", input="What is my name?", previous_response_id=first.id
            )
        )
        conversation = await ready(
            client.conversations.create(items=[{"role": "user", "content": "I like tea."}])
        )
        added = await ready(
            client.conversations.items.create(
                conversation.id, items=[{"role": "user", "content": "And cake."}]
            )
        )
        third = await ready(
            client.responses.create(
                model="gpt-4o-mini", input="What do I like?", conversation=conversation.id
            )
        )
        items = await ready(client.conversations.items.list(conversation.id))
        item = await ready(
            client.conversations.items.retrieve(added.data[0].id, conversation_id=conversation.id)
        )
        counted = await ready(client.responses.input_tokens.count(model="gpt-4o-mini", input="one two three"))
        inputs = await ready(client.responses.input_items.list(second.id))
        return {
            "answers": [first.output_text, second.output_text, third.output_text],
            "conversation": third.conversation.model_dump(),
            "items": [entry.model_dump() for entry in items.data],
            "item": item.model_dump(),
            "retrieved": (await ready(client.responses.retrieve(second.id))).model_dump(),
            "inputs": [entry.model_dump() for entry in inputs.data],
            "tokens": counted.input_tokens,
            "deleted": await ready(client.responses.delete(first.id)),
            "ended": (await ready(client.conversations.delete(conversation.id))).model_dump(),
        }

    result = round_trip(stateful, tmp_path, network, calling(kind, stateful.base_url, flow))
    assert result["answers"][1] == "You said: What is my name? (earlier: My name is Ada.)"
    assert result["answers"][2] == "You said: What do I like? (earlier: I like tea. / And cake.)"
    assert result["retrieved"]["output"][0]["content"][0]["text"] == result["answers"][1]
    assert len(result["items"]) == 4  # two items given, the third turn's question and its answer
    assert result["item"]["content"][0]["text"] == "And cake."
    assert [entry["content"][0]["text"] for entry in result["inputs"]] == ["What is my name?"]
    assert result["tokens"] == 3
    assert result["deleted"] is None
    assert result["ended"]["deleted"] is True


def test_images(kind: str, stateful: Server, tmp_path: Path, network: NetworkGuard) -> None:
    async def flow(client: Any) -> dict[str, Any]:
        made = await ready(client.images.generate(model="gpt-image-1", prompt="a lighthouse at dawn"))
        edited = await ready(
            client.images.edit(
                model="gpt-image-1", image=("dot.png", IMAGE, "image/png"), prompt="make it blue"
            )
        )
        return {"made": made.model_dump(), "edited": edited.model_dump()}

    result = round_trip(stateful, tmp_path, network, calling(kind, stateful.base_url, flow))
    pictures = [base64.b64decode(result[name]["data"][0]["b64_json"]) for name in ("made", "edited")]
    assert all(picture.startswith(b"\x89PNG\r\n\x1a\n") for picture in pictures)
    assert pictures[0] != pictures[1]


@DEPRECATED
def test_audio(kind: str, stateful: Server, tmp_path: Path, network: NetworkGuard) -> None:
    async def flow(client: Any) -> dict[str, Any]:
        spoken = await ready(
            client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input="Hello!")
        )
        audio = spoken.read()
        heard = await ready(client.audio.transcriptions.create(model="whisper-1", file=("hello.mp3", audio)))
        text = await ready(
            client.audio.transcriptions.create(
                model="whisper-1", file=("hello.mp3", audio), response_format="text"
            )
        )
        translated = await ready(
            client.audio.translations.create(model="whisper-1", file=("hello.mp3", audio))
        )
        return {
            "audio": audio,
            "json": heard.model_dump(),
            "text": text,
            "translated": translated.model_dump(),
        }

    result = round_trip(stateful, tmp_path, network, calling(kind, stateful.base_url, flow))
    assert result["audio"].startswith(b"ID3")
    with pytest.raises(UnicodeDecodeError):
        result["audio"].decode("utf-8")
    assert result["json"]["text"] == result["text"]
    assert result["text"].startswith(f"Transcribed {len(result['audio'])} bytes of audio")
    assert result["translated"]["text"].startswith("Translated")


@DEPRECATED
def test_assistants(kind: str, stateful: Server, tmp_path: Path, network: NetworkGuard) -> None:
    async def flow(client: Any) -> dict[str, Any]:
        beta = client.beta
        assistant = await ready(beta.assistants.create(model="gpt-4o-mini", name="helper"))
        thread = await ready(beta.threads.create())
        await ready(beta.threads.messages.create(thread.id, role="user", content="Hello there"))
        finished = await ready(
            beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        )
        messages = await ready(beta.threads.messages.list(thread.id))
        steps = await ready(beta.threads.runs.steps.list(finished.id, thread_id=thread.id))
        return {
            "assistant": (await ready(beta.assistants.retrieve(assistant.id))).model_dump(),
            "run": finished.model_dump(),
            "messages": [message.model_dump() for message in messages.data],
            "steps": [step.model_dump() for step in steps.data],
        }

    result = round_trip(stateful, tmp_path, network, calling(kind, stateful.base_url, flow))
    assert result["assistant"]["name"] == "helper"
    assert result["run"]["status"] == "completed"
    texts = [message["content"][0]["text"]["value"] for message in result["messages"]]
    assert texts == ["You said: Hello there (messages in the thread: 1)", "Hello there"]
    assert result["steps"][0]["step_details"]["message_creation"]["message_id"] == result["messages"][0]["id"]
    runs = [
        e
        for method, e in recorded_requests(tmp_path)
        if method == "GET" and "/runs/" in e and "/steps" not in e
    ]
    assert len(runs) > 1, "the run was polled once: queued, in progress, completed"


def upload_twice(base_url: str, content: bytes) -> list[str]:
    with openai.OpenAI(base_url=base_url, api_key="test", max_retries=0) as client:
        return [
            client.files.create(file=("notes.txt", content, "text/plain"), purpose="assistants").id
            for _ in range(2)
        ]


def test_uploads_are_keyed_by_their_content(stateful: Server, tmp_path: Path, network: NetworkGuard) -> None:
    # Given the same upload sent twice, recorded and replayed
    ids = round_trip(stateful, tmp_path, network, lambda: upload_twice(stateful.base_url, NOTES))
    assert ids == ["file-0001", "file-0002"]
    # When the file's content changes, then its upload has no recording
    with (
        pytest.raises(llmtape.MissingRecording, match="no recording for POST"),
        llmtape.tape(tmp_path),
        contextlib.suppress(openai.NotFoundError),
    ):
        upload_twice(stateful.base_url, NOTES + b" Revised.")
    assert network.attempts == []


def test_uploads_and_audio_are_stored_beside_the_recordings(stateful: Server, tmp_path: Path) -> None:
    async def flow(client: Any) -> bytes:
        for _ in range(2):
            await ready(client.files.create(file=("notes.txt", NOTES, "text/plain"), purpose="assistants"))
        spoken = await ready(client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input="Hi"))
        audio: bytes = spoken.read()
        return audio

    with llmtape.tape(tmp_path, mode="record"):
        audio: bytes = asyncio.run(calling("sync", stateful.base_url, flow)())
    sidecars = {path.name: path.read_bytes() for path in (tmp_path / "files").iterdir()}
    # The same bytes uploaded twice are one file, named by their sha256.
    assert sorted(sidecars.values()) == sorted([NOTES, audio])
    names = {hashlib.sha256(NOTES).hexdigest() + ".txt", hashlib.sha256(audio).hexdigest() + ".mp3"}
    assert set(sidecars) == names
