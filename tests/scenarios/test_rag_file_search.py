"""The file-search flow the seeds' recordings come from, end to end through the openai SDK's stateful APIs:
the knowledge documents uploaded, a vector store built from them (polled until its files are processed),
a question asked through the Responses API with the ``file_search`` tool, and the answer's citations.

Recorded against ``tests/servers/openai_stateful.py``, a loopback stand-in that keeps the uploaded files
and vector stores and answers ``file_search`` from them (a hosted provider: OPENAI_BASE_URL and
OPENAI_API_KEY); replayed offline, every call from ``recordings/``, the uploads' bytes from
``recordings/files/``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from llmtape import Outcome, TapeView
from tests.conftest import start_server
from tests.scenarios.knowledge import DOCUMENTS

QUESTION = "What are the updates from the US region?"
MODEL = os.environ.get("LLMTAPE_SCENARIO_MODEL", "gpt-4o-mini")
INCLUDE: Any = ["file_search_call.results"]


@pytest.fixture
def base_url(llmtape: TapeView) -> Iterator[str]:
    """Where the calls go: in replay mode nowhere (nothing may connect), else the stand-in (or a provider)."""
    if llmtape.mode == "replay":
        yield "http://127.0.0.1:9/v1"
    elif os.environ.get("OPENAI_BASE_URL"):
        yield os.environ["OPENAI_BASE_URL"]
    else:
        server = start_server(module="tests.servers.openai_stateful")
        yield server.base_url
        server.stop()


def upload_knowledge(client: openai.OpenAI) -> tuple[str, dict[str, str]]:
    """The vector store holding the documents, once processed, and the uploaded file ids by file name."""
    uploaded = {
        doc["filename"]: client.files.create(
            file=(doc["filename"], doc["text"].encode(), "text/plain"), purpose="assistants"
        ).id
        for doc in DOCUMENTS
    }
    store = client.vector_stores.create(name="company-updates")
    batch = client.vector_stores.file_batches.create_and_poll(store.id, file_ids=list(uploaded.values()))
    assert batch.status == "completed"
    assert batch.file_counts.completed == len(DOCUMENTS)
    return store.id, uploaded


async def aupload_knowledge(client: openai.AsyncOpenAI) -> tuple[str, dict[str, str]]:
    uploaded = {}
    for doc in DOCUMENTS:
        file = await client.files.create(
            file=(doc["filename"], doc["text"].encode(), "text/plain"), purpose="assistants"
        )
        uploaded[doc["filename"]] = file.id
    store = await client.vector_stores.create(name="company-updates")
    batch = await client.vector_stores.file_batches.create_and_poll(
        store.id, file_ids=list(uploaded.values())
    )
    assert batch.status == "completed"
    return store.id, uploaded


def ask(store_id: str) -> dict[str, Any]:
    return {
        "model": MODEL,
        "input": QUESTION,
        "tools": [{"type": "file_search", "vector_store_ids": [store_id]}],
        "include": INCLUDE,
    }


def assert_cited(response: Any, uploaded: dict[str, str]) -> None:
    """The answer searched the store and cites, by id and file name, documents that were uploaded, among
    them the US ones the question is about."""
    kinds = [item.type for item in response.output]
    assert kinds[0] == "file_search_call"
    search = response.output[0]
    assert search.status == "completed"
    assert search.results, "the search returned no results"
    assert {result.file_id for result in search.results} <= set(uploaded.values())
    message = next(item for item in response.output if item.type == "message")
    (text,) = [part for part in message.content if part.type == "output_text"]
    assert text.text == response.output_text
    citations = [a for a in text.annotations if a.type == "file_citation"]
    assert citations, "the answer cites no file"
    for citation in citations:
        assert uploaded[citation.filename] == citation.file_id
    assert {c.filename for c in citations} & {"us_engineering_q2.txt", "us_marketing_q1.txt"}


def test_rag_file_search(base_url: str, llmtape: TapeView) -> None:
    key = os.environ.get("OPENAI_API_KEY", "test")
    with openai.OpenAI(base_url=base_url, api_key=key, max_retries=0) as client:
        store_id, uploaded = upload_knowledge(client)
        response = client.responses.create(**ask(store_id))
        assert_cited(response, uploaded)
        assert client.responses.retrieve(response.id).output_text == response.output_text
    uploads = [c for c in llmtape.calls if c.endpoint.endswith("/files") and c.method == "POST"]
    assert len(uploads) == len(DOCUMENTS)
    # Each upload is keyed by its fields and its file's digest: the stored body names its sidecar.
    for call in uploads:
        (purpose, file) = call.body["__data__"]
        assert purpose == {"name": "purpose", "value": "assistants"}
        assert file["file"].startswith("files/")
        assert file["filename"].endswith(".txt")
    polls = [c for c in llmtape.calls if "/file_batches/" in c.endpoint and c.method == "GET"]
    assert len(polls) > 1, "the batch was polled once: the stand-in answers completed at once"
    assert len({c.path for c in polls}) == len(polls), "each poll has its own recording, replayed in order"


def test_rag_file_search_async(base_url: str, llmtape: TapeView) -> None:
    async def flow() -> tuple[Any, dict[str, str]]:
        client = openai.AsyncOpenAI(
            base_url=base_url, api_key=os.environ.get("OPENAI_API_KEY", "test"), max_retries=0
        )
        async with client:
            store_id, uploaded = await aupload_knowledge(client)
            return await client.responses.create(**ask(store_id)), uploaded

    response, uploaded = asyncio.run(flow())
    assert_cited(response, uploaded)
    assert {c.outcome for c in llmtape.calls} <= {Outcome.REPLAYED, Outcome.RECORDED}
