"""vcrpy cassettes of LLM calls import into llmtape recordings, SSE bodies parsed into chunks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import groq
import httpx
import pytest
import vcr

import llmtape
from llmtape.cli import main
from tests.conftest import NetworkGuard, Server

MESSAGES = [{"role": "user", "content": "from a cassette"}]


def conversation(base_url: str) -> dict[str, Any]:
    """A streamed and a whole chat completion through groq (an httpx client), and a non-LLM call."""
    with groq.Groq(base_url=base_url, api_key="gsk-test", max_retries=0) as client:
        stream = client.chat.completions.create(model="llama-3.1-8b", messages=MESSAGES, stream=True)
        streamed = [(c.id, c.choices[0].delta.content) for c in stream if c.choices]
        whole = client.chat.completions.create(model="llama-3.1-8b", messages=MESSAGES).to_dict()
    return {"streamed": streamed, "whole": whole}


@pytest.mark.llmtape(enabled=False)  # vcrpy, not llmtape, records this test's traffic
def test_a_vcrpy_cassette_imports_and_replays(
    server: Server, tmp_path: Path, network: NetworkGuard, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a cassette that vcrpy recorded itself
    cassette = tmp_path / "cassettes" / "test_chat.yaml"
    base_url = f"http://127.0.0.1:{server.port}"
    with vcr.use_cassette(str(cassette), filter_headers=["authorization"]):
        recorded = conversation(base_url)
        httpx.get(f"{base_url}/stats")  # not an LLM call: left out of the import
    # When it is imported
    assert main(["import", "--from", "vcr", str(tmp_path / "cassettes"), "--dir", str(tmp_path / "rec")]) == 0
    assert "llmtape: imported 1 files into" in capsys.readouterr().out
    files = [json.loads(p.read_text()) for p in (tmp_path / "rec").glob("*.json")]
    streamed = next(f for f in files if f["response"]["is_streaming"])
    assert (
        streamed["response"]["body"][0]["__type__"]
        == "openai.types.chat.chat_completion_chunk.ChatCompletionChunk"
    )
    assert streamed["response"]["sse_done"] is True
    assert len(files) == 2
    # Then llmtape replays what vcrpy recorded, offline
    server.stop()
    network.block()
    with llmtape.tape(tmp_path / "rec") as replay:
        assert conversation(base_url) == recorded
    assert [c.outcome for c in replay.calls] == ["replayed", "replayed"]


def test_a_missing_source_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "--from", "vcr", str(tmp_path / "nope"), "--dir", str(tmp_path)]) == 2
    assert f"llmtape: {tmp_path / 'nope'} does not exist" in capsys.readouterr().err
