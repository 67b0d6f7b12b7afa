"""The decision for each request, from the mode, the options and what is on disk, without a server."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx
import pytest

from llmtape.config import Mode
from llmtape.context import Options, Run
from llmtape.decide import Drop, Fail, Forward, Miss, Record, Replay, decide, recheck
from llmtape.format.recording import StoredResponse, new_recording, new_request
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


def test_rewrite_mode_records_over_a_file_whose_modification_time_lies_in_the_future(tmp_path: Path) -> None:
    # Given a recording of an earlier run, touched with a time ahead of this run's clock
    path = save(tmp_path)
    os.utime(path, (time.time() + 3600, time.time() + 3600))
    run = Run()
    # When it is checked again under the lock, it is not this run's: it must be recorded
    assert decided(Mode.REWRITE, tmp_path, run) == Record()
    assert recheck(incoming(tmp_path), Options(mode=Mode.REWRITE, directory=tmp_path), run) is None


def test_rewrite_mode_replays_what_another_worker_of_the_same_run_wrote(tmp_path: Path) -> None:
    # Given a recording written by a parallel worker of this run (same run id, another process)
    request = new_request("POST", URL, "/v1/chat/completions", {}, BODY)
    response: StoredResponse = {"status": 200, "headers": {}, "is_streaming": False, "body": None}
    path = Store(tmp_path).save(incoming(tmp_path).key, new_recording(request, response))
    writer = Run("run-1")
    writer.saved(path)
    options = Options(mode=Mode.REWRITE, directory=tmp_path)
    # Then this worker replays it, and a worker of another run does not
    assert isinstance(recheck(incoming(tmp_path), options, Run("run-1")), Replay)
    assert recheck(incoming(tmp_path), options, Run("run-2")) is None
    # and once the run is over, nothing of it remains to be mistaken for this one
    writer.forget()
    assert recheck(incoming(tmp_path), options, Run("run-1")) is None
    assert "run" not in json.loads(path.read_text())["llmtape"]  # the file stays as recorded


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


@pytest.mark.parametrize("mode", [Mode.REPLAY, Mode.RECORD, Mode.REWRITE])
def test_an_sdks_own_telemetry_is_never_a_recording(mode: Mode, tmp_path: Path) -> None:
    # openai-agents exports its traces to the OpenAI host: not an LLM call, so never stored nor missed.
    url, endpoint = "https://api.openai.com/v1/traces/ingest", "/v1/traces/ingest"
    key = request_key("POST", endpoint, {"data": []})
    traces = Incoming("POST", url, endpoint, httpx.Headers(), {"data": []}, key, 1, tmp_path / f"{key}.json")
    assert isinstance(decide(traces, Options(mode=mode, directory=tmp_path), Run()), Drop)
    chat = Incoming(
        "POST",
        "https://api.openai.com/v1/chat/completions",
        "/v1/chat/completions",
        httpx.Headers(),
        BODY,
        key,
        1,
        tmp_path / f"{key}.json",
    )
    assert not isinstance(decide(chat, Options(mode=mode, directory=tmp_path), Run()), Drop)
