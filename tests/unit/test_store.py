"""The recordings directory: atomic writes, clear errors, reading every file."""

from __future__ import annotations

import errno
import fcntl
import os
import time
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


def test_a_directory_that_cannot_be_made_fails_with_the_directory_the_os_error_and_the_fix(
    tmp_path: Path,
) -> None:
    # A path under a regular file: as unwritable as a read-only directory, even for root
    (tmp_path / "blocker").write_text("")
    store = Store(tmp_path / "blocker" / "recordings")
    with pytest.raises(RecordingError) as raised:
        store.save("abc", RECORDING)
    message = str(raised.value)
    assert f"could not write the recording into {tmp_path / 'blocker' / 'recordings'}" in message
    assert "NotADirectoryError: [Errno 20] Not a directory" in message
    assert "fix: make room on its disk or make it writable" in message
    assert message.endswith(f"file: {tmp_path / 'blocker' / 'recordings' / 'abc.json'}")


def test_a_full_disk_fails_the_write_keeps_the_old_file_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    store.save("abc", RECORDING)

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(RecordingError) as raised:
        store.save("abc", {**RECORDING, "test_id": "new"})
    assert "OSError: [Errno 28] No space left on device" in str(raised.value)
    assert Store(tmp_path).load("abc") == RECORDING
    assert [p.name for p in tmp_path.iterdir()] == ["abc.json"]


def leftover(directory: Path, name: str, age: float) -> Path:
    path = directory / f".{name}.k2j3h4.tmp"
    path.write_bytes(b'{"request": ')
    os.utime(path, (time.time() - age, time.time() - age))
    return path


def test_temp_files_that_no_writer_holds_are_leftovers_and_old_ones_are_cleaned(tmp_path: Path) -> None:
    # Given what a killed run left (an old temp file), a write cut off a moment ago, and a write under way
    store = Store(tmp_path)
    store.save("abc", RECORDING)
    killed, just_now, writing = (leftover(tmp_path, n, a) for n, a in (("a", 3600), ("b", 1), ("c", 3600)))
    with open(writing, "rb+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # as Store.save holds it until the file is in place
        # Then the two nobody writes are leftovers; only the old one is cleaned; the write under way is kept
        assert store.leftovers() == [killed, just_now]
        assert store.clean() == [killed]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".b.k2j3h4.tmp", ".c.k2j3h4.tmp", "abc.json"]
