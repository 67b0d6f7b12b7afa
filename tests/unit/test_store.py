"""The recordings directory: atomic writes, clear errors, reading every file."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmtape.errors import RecordingError
from llmtape.format.recording import dumps, new_recording, new_request
from llmtape.store import Store

REQUEST = new_request("POST", "http://api/v1/chat/completions", "/v1/chat/completions", {}, {"model": "m"})
RECORDING = new_recording(REQUEST, {"status": 200, "headers": {}, "is_streaming": False, "body": None})


def test_save_then_load_round_trips_and_leaves_no_temp_file(tmp_path: Path) -> None:
    store = Store(tmp_path / "new-dir")
    path = store.save("abc", RECORDING)
    assert path == tmp_path / "new-dir" / "abc.json"
    assert path.read_bytes() == dumps(RECORDING)
    assert Store(tmp_path / "new-dir").load("abc") == RECORDING
    assert [p.name for p in path.parent.iterdir()] == ["abc.json"]


def test_a_missing_recording_loads_as_none(tmp_path: Path) -> None:
    assert Store(tmp_path).load("nothing") is None


def test_a_failed_write_keeps_the_old_file_and_removes_the_temp_file(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save("abc", RECORDING)
    with pytest.raises(TypeError):
        store.save("abc", {"request": {}, "response": {"body": object()}})
    assert Store(tmp_path).load("abc") == RECORDING
    assert [p.name for p in tmp_path.iterdir()] == ["abc.json"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"request": {', "not valid JSON"),
        (b'{"request": {}, "llmtape": {"format": 1}}', "lacks request.method"),
    ],
)
def test_a_broken_file_is_reported_with_its_path_and_the_fix(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    (tmp_path / "bad.json").write_bytes(content)
    with pytest.raises(RecordingError) as error:
        Store(tmp_path).load("bad")
    assert problem in str(error.value)
    assert f"file: {tmp_path / 'bad.json'}" in str(error.value)
    assert "record it again" in str(error.value)
    assert (tmp_path / "bad.json").read_bytes() == content


def test_each_reads_every_file_and_names_the_broken_ones(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save("a", RECORDING)
    (tmp_path / "broken.json").write_text("{")
    found = dict(store.each())
    assert found[tmp_path / "a.json"] == RECORDING
    assert isinstance(found[tmp_path / "broken.json"], RecordingError)
