"""llmtape.tape() outside pytest: modes from the argument or LLMTAPE_MODE, strict misses, nesting."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

import llmtape
from tests.conftest import Server

MESSAGES = [{"role": "user", "content": "script call"}]


def ask(base_url: str) -> str | None:
    with openai.OpenAI(base_url=base_url, api_key="k", max_retries=0) as client:
        return client.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content


async def ask_async(base_url: str, **options: Any) -> str | None:
    async with openai.AsyncOpenAI(base_url=base_url, api_key="k", **options) as client:
        completion = await client.chat.completions.create(model="m", messages=MESSAGES)
        return completion.choices[0].message.content


def test_mode_comes_from_the_environment(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMTAPE_MODE", "record")
    with llmtape.tape(tmp_path) as recording:
        answer = ask(server.base_url)
    assert recording.mode == llmtape.Mode.RECORD
    monkeypatch.delenv("LLMTAPE_MODE")
    with llmtape.tape(tmp_path) as replay:
        assert ask(server.base_url) == answer
    assert replay.mode == llmtape.Mode.REPLAY
    assert replay.counts()[llmtape.Outcome.REPLAYED] == 1


def test_a_miss_raises_on_leaving_the_block_with_the_explanation(tmp_path: Path) -> None:
    # A script that swallows the client's error still learns of the miss when the block ends.
    with (
        pytest.raises(llmtape.MissingRecording) as error,
        llmtape.tape(tmp_path),
        contextlib.suppress(openai.NotFoundError),
    ):
        ask("http://127.0.0.1:9/v1")
    message = str(error.value)
    assert message.startswith("llmtape: no recording for POST http://127.0.0.1:9/v1/chat/completions")
    assert "to record it: run again with LLMTAPE_MODE=record" in message
    assert error.value.path.endswith(f"{error.value.key}.json")


def test_strict_false_leaves_misses_to_the_caller(tmp_path: Path) -> None:
    with llmtape.tape(tmp_path, strict=False) as active:
        with pytest.raises(openai.NotFoundError):
            ask("http://127.0.0.1:9/v1")
        with pytest.raises(openai.NotFoundError):
            asyncio.run(ask_async("http://127.0.0.1:9/v1"))
    assert [c.outcome for c in active.calls] == ["missing", "missing"]


def test_an_inner_tape_takes_over_until_it_ends(server: Server, tmp_path: Path) -> None:
    with llmtape.tape(tmp_path / "outer", mode="record") as outer:
        with llmtape.tape(tmp_path / "inner", mode="live") as inner:
            ask(server.base_url)
        ask(server.base_url)
    assert [c.outcome for c in inner.calls] == ["live"]
    assert [c.outcome for c in outer.calls] == ["recorded"]
    assert not (tmp_path / "inner").exists()


def test_a_bad_mode_argument_is_a_config_error(tmp_path: Path) -> None:
    with (
        pytest.raises(llmtape.ConfigError, match="use one of: replay, record, rewrite, live"),
        llmtape.tape(tmp_path, mode="sometimes"),
    ):
        pass


def test_a_failed_live_call_is_neither_counted_nor_saved(tmp_path: Path) -> None:
    with llmtape.tape(tmp_path, mode="record") as active, pytest.raises(openai.APIConnectionError):
        ask("http://127.0.0.1:9/v1")  # nothing listens there
    assert active.calls == []
    assert list(tmp_path.iterdir()) == []


def test_a_body_that_cannot_be_keyed_fails_with_a_clear_error(tmp_path: Path) -> None:
    with llmtape.tape(tmp_path, strict=False) as active:
        response = httpx.post(
            "http://127.0.0.1:9/v1/files",
            content=b"--b\r\nContent-Disposition: form-data\r\n\r\nno closing boundary",
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
    assert response.status_code == 500
    assert response.headers["x-should-retry"] == "false"
    (call,) = active.calls
    assert call.outcome == "failed"
    assert call.error is not None
    assert call.error.startswith("llmtape: the request's multipart/form-data body is malformed (")
    assert "so it has no recording key" in call.error
    assert "request: POST http://127.0.0.1:9/v1/files" in call.error
    assert "@pytest.mark.llmtape(enabled=False)" in call.error


def test_async_live_mode_forwards_and_saves_nothing(server: Server, tmp_path: Path) -> None:
    with llmtape.tape(tmp_path, mode="live") as active:
        answer = asyncio.run(ask_async(server.base_url, max_retries=0))
    assert answer is not None
    assert answer.startswith("You said: script call")
    assert [c.outcome for c in active.calls] == ["live"]
    assert server.served() == 1
    assert list(tmp_path.iterdir()) == []
