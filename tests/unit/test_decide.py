"""The decision for each request, from the mode, the options and what is on disk, without a server."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from llmtape.config import Mode
from llmtape.context import Options, Run
from llmtape.decide import Fail, Forward, Miss, Record, Replay, decide
from llmtape.format.recording import new_recording, new_request
from llmtape.incoming import Incoming
from llmtape.keys import file_name, request_key
from llmtape.store import Store

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
URL = "http://api.test/v1/chat/completions"


def incoming(directory: Path, body: object = BODY) -> Incoming:
    key = request_key("POST", "/v1/chat/completions", body)
    path = Store(directory).path(file_name(key, 1))
    return Incoming("POST", URL, "/v1/chat/completions", httpx.Headers(), body, key, 1, path)


def save(directory: Path, body: object = BODY, name: str | None = None) -> Path:
    request = new_request("POST", URL, "/v1/chat/completions", {}, body)
    response = {"status": 200, "headers": {}, "is_streaming": False, "body": None}
    return Store(directory).save(name or incoming(directory, body).key, new_recording(request, response))


def decided(mode: Mode, directory: Path, run: Run | None = None) -> object:
    return decide(incoming(directory), Options(mode=mode, directory=directory), run or Run())


@pytest.mark.parametrize(
    ("mode", "recorded", "expected"),
    [
        (Mode.REPLAY, True, Replay),
        (Mode.REPLAY, False, Miss),
        (Mode.RECORD, True, Replay),
        (Mode.RECORD, False, Record),
        (Mode.REWRITE, True, Record),
        (Mode.REWRITE, False, Record),
        (Mode.LIVE, True, Forward),
        (Mode.LIVE, False, Forward),
    ],
)
def test_each_mode_decides_by_whether_a_recording_exists(
    tmp_path: Path, mode: Mode, recorded: bool, expected: type
) -> None:
    if recorded:
        save(tmp_path)
    assert type(decided(mode, tmp_path)) is expected


def test_a_miss_carries_its_explanation(tmp_path: Path) -> None:
    decision = decided(Mode.REPLAY, tmp_path)
    assert isinstance(decision, Miss)
    assert decision.message.startswith(f"llmtape: no recording for POST {URL} (model 'm')")
    assert f"key:      {incoming(tmp_path).key}" in decision.message


def test_rewrite_mode_replays_what_this_run_wrote(tmp_path: Path) -> None:
    run = Run()
    run.saved(save(tmp_path))
    assert isinstance(decided(Mode.REWRITE, tmp_path, run), Replay)


@pytest.mark.parametrize("mode", [Mode.REPLAY, Mode.RECORD])
def test_a_damaged_recording_fails_naming_its_file(tmp_path: Path, mode: Mode) -> None:
    (tmp_path / f"{incoming(tmp_path).key}.json").write_text('{"request": ')
    decision = decided(mode, tmp_path)
    assert isinstance(decision, Fail)
    assert "is not valid JSON" in str(decision.error)
    assert f"{incoming(tmp_path).key}.json" in str(decision.error)


def test_rewrite_mode_never_reads_a_damaged_recording_it_replaces(tmp_path: Path) -> None:
    (tmp_path / f"{incoming(tmp_path).key}.json").write_text('{"request": ')
    assert isinstance(decided(Mode.REWRITE, tmp_path), Record)


def test_a_file_holding_another_request_fails(tmp_path: Path) -> None:
    save(tmp_path, body={"model": "other"}, name=incoming(tmp_path).key)
    decision = decided(Mode.REPLAY, tmp_path)
    assert isinstance(decision, Fail)
    assert "its stored request has key" in str(decision.error)


def test_the_name_check_runs_once_per_file(tmp_path: Path) -> None:
    save(tmp_path)
    run = Run()
    store = run.store(tmp_path)
    assert not store.checked(incoming(tmp_path).key)
    assert isinstance(decided(Mode.REPLAY, tmp_path, run), Replay)
    assert store.checked(incoming(tmp_path).key)
