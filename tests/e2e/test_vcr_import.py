"""Cassettes that vcrpy records of LLM calls import into the very recordings a record run stores, and replay.

Each API's calls are made twice against the loopback server: once under vcrpy, whose cassette is then
imported, and once under llmtape's record mode. Both directories must hold the same files (the same
keys) with the same framing and typed chunks; then the imported ones replay, offline, what the
application saw while vcrpy recorded.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cohere
import groq
import httpx
import openai
import pytest
import vcr
import yaml
import zstandard
from google import genai
from google.genai import types

import llmtape
from llmtape.cli import main
from tests.conftest import NetworkGuard, Server

pytestmark = [
    pytest.mark.llmtape(enabled=False),  # vcrpy, not llmtape, records these tests' traffic
    # google-genai subclasses aiohttp.ClientSession when aiohttp is installed, which aiohttp frowns on.
    pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning"),
]

MESSAGES = [{"role": "user", "content": "from a cassette"}]
QUESTION = "What is the capital of France?"
GEMINI, COHERE = "gemini-2.5-flash", "command-a-03-2025"
DOCUMENTS = ["a red car", "red apple pie", "the blue sea"]


def groq_calls(root: str) -> dict[str, Any]:
    """A streamed and a whole chat completion through groq (an httpx client)."""
    with groq.Groq(base_url=root, api_key="gsk-test", max_retries=0) as client:
        stream = client.chat.completions.create(model="llama-3.1-8b", messages=MESSAGES, stream=True)
        streamed = [(c.id, c.choices[0].delta.content) for c in stream if c.choices]
        whole = client.chat.completions.create(model="llama-3.1-8b", messages=MESSAGES).to_dict()
    return {"streamed": streamed, "whole": whole}


def seen(response: Any) -> Any:
    return response.model_dump(mode="json", exclude={"sdk_http_response"})


def gemini_calls(root: str) -> dict[str, Any]:
    """google-genai's calls (whole, streamed over SSE, tokens, embeddings) and the JSON array stream,
    which the SDK never asks for, through httpx."""
    with genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=root)) as client:
        models = client.models
        got = {
            "whole": seen(models.generate_content(model=GEMINI, contents=QUESTION)),
            "streamed": [seen(c) for c in models.generate_content_stream(model=GEMINI, contents=QUESTION)],
            "tokens": models.count_tokens(model=GEMINI, contents=QUESTION).total_tokens,
            "one": seen(models.embed_content(model="text-embedding-004", contents="one")),
            "several": seen(models.embed_content(model="text-embedding-004", contents=["one", "two"])),
        }
    got["array"] = httpx.post(
        f"{root}/v1beta/models/{GEMINI}:streamGenerateContent",
        json={"contents": [{"role": "user", "parts": [{"text": QUESTION}]}]},
        headers={"x-goog-api-key": "test-key"},
    ).json()
    return got


def cohere_calls(root: str) -> dict[str, Any]:
    """cohere's v2 chat (whole and streamed), embed and rerank, and v1 rerank."""
    messages: Any = [{"role": "user", "content": QUESTION}]
    rerank = {"model": "rerank-v3.5", "query": "red apple", "documents": DOCUMENTS, "top_n": 2}
    with cohere.ClientV2(api_key="test-key", base_url=root, max_retries=0) as client:
        got = {
            "chat": client.chat(model=COHERE, messages=messages).model_dump(mode="json"),
            "events": [
                e.model_dump(mode="json") for e in client.chat_stream(model=COHERE, messages=messages)
            ],
            "embed": client.embed(
                model="embed-v4.0", texts=["one"], input_type="search_query", embedding_types=["float"]
            ).model_dump(mode="json"),
            "rerank": client.rerank(**rerank).model_dump(mode="json"),
        }
    with cohere.Client(api_key="test-key", base_url=root, max_retries=0) as v1:
        got["rerank v1"] = v1.rerank(**rerank, return_documents=True).model_dump(mode="json")
    return got


CALLS: dict[str, Callable[[str], dict[str, Any]]] = {
    "openai": groq_calls,
    "gemini": gemini_calls,
    "cohere": cohere_calls,
}
ROOTS = {"openai": "/v1", "gemini": "", "cohere": ""}


def shape(directory: Path) -> dict[str, Any]:
    """Each recording's name, request and framing, and its chunks' types and SSE fields: all but the data
    and header values that are fresh on every call."""
    found = {}
    for path in sorted(directory.glob("*.json")):
        recording = json.loads(path.read_text())
        response, body = recording["response"], recording["response"]["body"]
        chunks = body if response["is_streaming"] else [body]
        found[path.name] = {
            "request": {k: v for k, v in recording["request"].items() if k != "url"},
            "headers": {k: v if k == "content-type" else "..." for k, v in response["headers"].items()},
            "response": {k: v for k, v in response.items() if k not in ("body", "headers")},
            "chunks": [chunk and {k: v for k, v in chunk.items() if k != "__data__"} for chunk in chunks],
        }
    return found


def imported(source: Path, target: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["import", "--from", "vcr", str(source), "--dir", str(target)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("api", sorted(CALLS))
def test_imports_what_a_record_run_stores_and_replays_it(
    api: str, server: Server, tmp_path: Path, network: NetworkGuard, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a cassette that vcrpy recorded itself, and llmtape's own recording of the same calls
    root = f"http://127.0.0.1:{server.port}{ROOTS[api]}"
    with vcr.use_cassette(str(tmp_path / "cassettes" / "calls.yaml"), filter_headers=["authorization"]):
        recorded = CALLS[api](root)
    with llmtape.tape(tmp_path / "recorded", mode="record", timing=False):  # a cassette has no timing
        CALLS[api](root)
    # When the cassette is imported
    code, out, err = imported(tmp_path / "cassettes", tmp_path / "imported", capsys)
    # Then it holds what the record run stored, typed and framed the same
    assert (code, err) == (0, "")
    assert shape(tmp_path / "imported") == shape(tmp_path / "recorded")
    files = len(list((tmp_path / "recorded").glob("*.json")))
    assert f": {files} written, 0 collided, 0 skipped\n" in out
    # And llmtape replays it, offline, as the application saw it under vcrpy
    server.stop()
    network.block()
    with llmtape.tape(tmp_path / "imported") as replay:
        assert CALLS[api](root) == recorded
    assert {c.outcome for c in replay.calls} == {llmtape.Outcome.REPLAYED}
    assert network.attempts == []


def test_the_non_llm_calls_of_a_cassette_are_counted_as_left_out(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with vcr.use_cassette(str(tmp_path / "cassettes" / "chat.yaml"), filter_headers=["authorization"]):
        groq_calls(server.base_url)
        httpx.get(f"http://127.0.0.1:{server.port}/stats")  # not an LLM call
    code, out, _ = imported(tmp_path / "cassettes", tmp_path / "rec", capsys)
    assert code == 0
    summary = f"llmtape: imported 1 files into {tmp_path / 'rec'}: 2 written, 0 collided, 0 skipped"
    assert f"{summary}, 1 left out (not LLM calls)\n" in out


def chat(root: str, encoding: str | None) -> dict[str, Any]:
    headers = {"x-test-encoding": encoding} if encoding else {}
    with openai.OpenAI(base_url=root, api_key="test-key", max_retries=0) as client:
        answer = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_headers=headers)  # type: ignore[arg-type]
        return answer.to_dict()


def reencoded(cassette: Path, encode: Callable[[bytes], bytes] | None, coding: str) -> str:
    """The cassette with its gzip answer stored as another coding would send it (or decoded, ``encode``
    None, under its header: how vcrpy's aiohttp stub stores it)."""
    data = yaml.safe_load(cassette.read_text())
    response = data["interactions"][0]["response"]
    plain = zlib.decompress(response["body"]["string"], zlib.MAX_WBITS | 16)
    response["body"]["string"] = encode(plain) if encode else plain.decode()
    response["headers"]["content-encoding"] = [coding]
    return yaml.safe_dump(data)


ENCODINGS: dict[str, Callable[[bytes], bytes]] = {
    "deflate": zlib.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate", "zstd", "decoded"])
def test_a_compressed_answer_imports_decoded(
    encoding: str, server: Server, tmp_path: Path, network: NetworkGuard, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a cassette whose answer vcrpy stored compressed, as the server sent it
    cassette = tmp_path / "cassettes" / "chat.yaml"
    sent = encoding if encoding in ("gzip", "br") else "gzip"
    with vcr.use_cassette(str(cassette), filter_headers=["authorization"]):
        recorded = chat(server.base_url, sent)
    assert yaml.safe_load(cassette.read_text())["interactions"][0]["response"]["headers"][
        "content-encoding"
    ] == [sent]
    if sent != encoding:  # deflate and zstd: the same answer as those codings would have sent it
        cassette.write_text(
            reencoded(cassette, ENCODINGS.get(encoding), "gzip" if encoding == "decoded" else encoding)
        )
    # When it is imported
    code, _, err = imported(cassette.parent, tmp_path / "rec", capsys)
    # Then the recording holds the answer decoded, typed as the SDK's class, and replays it
    assert (code, err) == (0, "")
    (path,) = (tmp_path / "rec").glob("*.json")
    stored = json.loads(path.read_text())["response"]
    assert stored["body"]["__type__"] == "openai.types.chat.chat_completion.ChatCompletion"
    assert "content-encoding" not in stored["headers"]
    server.stop()
    network.block()
    with llmtape.tape(tmp_path / "rec"):
        assert chat(server.base_url, sent) == recorded
