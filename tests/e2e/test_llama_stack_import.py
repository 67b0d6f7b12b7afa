"""Every shared llama-stack recording imports, and replays through the openai SDK with identical content."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import openai
import pytest
from openai.types import Completion, CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk

import llmtape
from llmtape.cli import main
from tests.conftest import ROOT, NetworkGuard

LLAMA_STACK = ROOT / "tests" / "data" / "llama-stack-recordings"
SOURCES = sorted(LLAMA_STACK.glob("*.json"))
CHUNKS: dict[str, Any] = {
    "openai.types.chat.chat_completion_chunk.ChatCompletionChunk": ChatCompletionChunk,
    "openai.types.completion.Completion": Completion,
}
SUFFIXES = {
    "/chat/completions": ChatCompletion,
    "/completions": Completion,
    "/embeddings": CreateEmbeddingResponse,
}


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared recordings imported in the per-test scope."""
    directory = tmp_path_factory.mktemp("imported")
    command = [
        "import",
        "--from",
        "llama-stack",
        str(LLAMA_STACK),
        "--dir",
        str(directory),
        "--scope",
        "test",
    ]
    assert main(command) == 0
    return directory


def test_all_47_are_there() -> None:
    assert len(SOURCES) == 47


def test_the_shared_scope_keeps_one_of_each_identical_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "--from", "llama-stack", str(LLAMA_STACK), "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    files = len(list(tmp_path.glob("*.json")))
    assert f"llmtape: imported 47 files into {tmp_path}: {files} written, {47 - files} collided" in out
    assert 0 < 47 - files < 47
    assert "--scope test keeps each" in out


def send(source: dict[str, Any], client: openai.OpenAI, suffix: str) -> Any:
    """The recorded request, sent to its recorded URL through the SDK; the parsed result as plain data."""
    if suffix == "/models":
        return [model.to_dict() for model in client.models.list()]
    body = source["request"]["body"]
    if source["response"]["is_streaming"]:
        chunk_type = CHUNKS[source["response"]["body"][0]["__type__"]]
        stream = client.post(
            suffix, body=body, cast_to=chunk_type, stream=True, stream_cls=openai.Stream[chunk_type]
        )
        return [chunk.to_dict() for chunk in stream]
    return client.post(suffix, body=body, cast_to=SUFFIXES[suffix]).to_dict()


def expected(source: dict[str, Any]) -> Any:
    body = source["response"]["body"]
    return [item["__data__"] for item in body] if isinstance(body, list) else body["__data__"]


@pytest.mark.parametrize("path", SOURCES, ids=[p.name[:20] for p in SOURCES])
def test_replays_through_the_openai_sdk(path: Path, imported: Path, network: NetworkGuard) -> None:
    source = json.loads(path.read_text())
    url = source["request"]["url"]
    suffix = next(
        s for s in ("/chat/completions", "/completions", "/embeddings", "/models") if url.endswith(s)
    )
    network.block()
    test_id = source.get("test_id") or f"llama-stack:{path.stem}"
    with (
        openai.OpenAI(base_url=url.removesuffix(suffix), api_key="unused", max_retries=0) as client,
        llmtape.tape(imported, test_id=test_id, strict=False) as replay,
    ):
        if source["response"].get("is_exception"):
            with pytest.raises(openai.APIStatusError) as error:
                send(source, client, suffix)
            exception = source["response"]["exception_data"]
            assert error.value.status_code == exception["status_code"]
            assert error.value.body == exception["body"]
        else:
            assert send(source, client, suffix) == expected(source)
    assert [c.outcome for c in replay.calls] == ["replayed"]
    assert urlsplit(replay.calls[0].url).path == urlsplit(url).path
    assert network.attempts == []
