"""Sidecar files: content-addressed names, checked reads, deduplicating and repairing writes, and the
parser's refusal of any other path."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from llmtape.errors import RecordingError
from llmtape.format import sidecar
from llmtape.format.recording import dumps, new_recording, new_request, parse

AUDIO = b"ID3\x04\x00\xff\xfb\x90\x00"
DIGEST = hashlib.sha256(AUDIO).hexdigest()


@pytest.mark.parametrize(
    ("content_type", "filename", "extension"),
    [
        ("", "speech.MP3", ".mp3"),  # the file name's suffix wins, lower-cased
        ("image/png", "archive.tar.gz", ".gz"),
        ("", r"C:\Users\ada\voice.wav", ".wav"),
        ("audio/mpeg", "", ".mp3"),
        ("audio/mpeg; charset=binary", "", ".mp3"),
        ("image/png", "", ".png"),
        ("application/pdf", "report", ".pdf"),
        ("application/octet-stream", "", ".bin"),
        ("", "", ".bin"),
        ("application/x-no-such-type", "", ".bin"),
        ("audio/mpeg", "voice.verylongsuffix", ".mp3"),  # suffixes that could not be a name fall back
        ("audio/mpeg", "voice.mp 3", ".mp3"),
        ("audio/mpeg", "voice.ünï", ".mp3"),
        ("audio/mpeg", "../../etc/passwd", ".mp3"),
        ("", "voice.", ".bin"),
    ],
)
def test_a_name_is_the_digest_and_a_safe_extension(content_type: str, filename: str, extension: str) -> None:
    name = sidecar.name_for(AUDIO, content_type, filename)
    assert name == f"files/{DIGEST}{extension}"
    assert sidecar.is_name(name)
    assert sidecar.digest(name) == DIGEST


@pytest.mark.parametrize(
    "name",
    [
        f"files/{DIGEST}",
        f"files/{DIGEST}.mp3",
        f"files/{DIGEST}.a1b2c3d4e5",
    ],
)
def test_sidecar_names(name: str) -> None:
    assert sidecar.is_name(name)


@pytest.mark.parametrize(
    "name",
    [
        f"files/{DIGEST}.MP3",
        f"files/{DIGEST}.a1b2c3d4e5f",
        f"files/{DIGEST[:63]}.mp3",
        f"files/{DIGEST.upper()}.mp3",
        f"{DIGEST}.mp3",
        f"/files/{DIGEST}.mp3",
        f"files/../{DIGEST}.mp3",
        f"files/{DIGEST}.mp3/../../etc/passwd",
        f"files/{DIGEST}.mp3\n",
        None,
    ],
)
def test_not_sidecar_names(name: object) -> None:
    assert not sidecar.is_name(name)


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    """A recording file's path whose directory holds the sidecar of AUDIO."""
    sidecar.save(tmp_path, {sidecar.name_for(AUDIO, "audio/mpeg"): AUDIO})
    return tmp_path / ("a" * 64 + ".json")


def test_load_gives_the_bytes_back(recording: Path) -> None:
    assert sidecar.load(recording, f"files/{DIGEST}.mp3") == AUDIO
    assert sidecar.problem(recording, f"files/{DIGEST}.mp3") is None


def test_load_of_a_missing_file_names_the_recording_the_file_and_the_fix(recording: Path) -> None:
    (recording.parent / "files" / f"{DIGEST}.mp3").unlink()
    with pytest.raises(RecordingError) as raised:
        sidecar.load(recording, f"files/{DIGEST}.mp3")
    message = str(raised.value)
    assert message.startswith(f"llmtape: the recording's file files/{DIGEST}.mp3 is missing (")
    assert str(recording.parent / "files" / f"{DIGEST}.mp3") in message
    assert "restore it from version control" in message
    assert "or record again" in message
    assert raised.value.path == str(recording)
    assert message.endswith(f"\n  file: {recording}")
    assert sidecar.problem(recording, f"files/{DIGEST}.mp3") == message.splitlines()[0].removeprefix(
        "llmtape: "
    )


def test_load_of_an_altered_file_says_it_was_altered(recording: Path) -> None:
    (recording.parent / "files" / f"{DIGEST}.mp3").write_bytes(AUDIO + b"\x00")
    with pytest.raises(RecordingError, match=f"files/{DIGEST}.mp3 was altered") as raised:
        sidecar.load(recording, f"files/{DIGEST}.mp3")
    assert raised.value.path == str(recording)


def test_save_writes_the_same_bytes_once(tmp_path: Path) -> None:
    name = sidecar.name_for(AUDIO, "audio/mpeg")
    sidecar.save(tmp_path, {name: AUDIO})
    first = (tmp_path / name).stat()
    sidecar.save(tmp_path, {name: AUDIO})
    again = (tmp_path / name).stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)  # left as it was
    assert [p.name for p in (tmp_path / "files").iterdir()] == [f"{DIGEST}.mp3"]


def test_save_repairs_a_file_whose_bytes_do_not_match_its_name(tmp_path: Path) -> None:
    name = sidecar.name_for(AUDIO, "audio/mpeg")
    (tmp_path / "files").mkdir()
    (tmp_path / name).write_bytes(b"truncated")
    sidecar.save(tmp_path, {name: AUDIO})
    assert (tmp_path / name).read_bytes() == AUDIO
    assert [p.name for p in (tmp_path / "files").iterdir()] == [f"{DIGEST}.mp3"]  # no temp file left


def test_present_lists_only_sidecars(tmp_path: Path) -> None:
    other = hashlib.sha256(b"other").hexdigest()
    sidecar.save(tmp_path, {f"files/{DIGEST}.mp3": AUDIO, f"files/{other}": b"other"})
    folder = tmp_path / "files"
    (folder / f".{DIGEST[:16]}.abc123.tmp").write_bytes(AUDIO)  # a write cut off midway
    (folder / "README.md").write_text("notes")
    (folder / f"{DIGEST}.MP3").write_bytes(AUDIO)
    (folder / f"{'0' * 64}.bin").mkdir()
    assert sidecar.present(tmp_path) == [folder / f"{DIGEST}.mp3", folder / other]
    assert sidecar.present(tmp_path / "nowhere") == []


def recording_with(response: dict[str, object], request_body: object = None) -> bytes:
    request = new_request("POST", "http://api/v1/audio/speech", "/v1/audio/speech", {}, request_body)
    return dumps(new_recording(request, response))  # type: ignore[arg-type]


def plain(body: object) -> dict[str, object]:
    return {"status": 200, "headers": {"content-type": "audio/mpeg"}, "is_streaming": False, "body": body}


@pytest.mark.parametrize(
    "data",
    ["../../etc/passwd", f"files/../../{DIGEST}.mp3", f"/tmp/files/{DIGEST}.mp3", 42, None],
)
def test_parse_rejects_a_file_body_that_is_not_a_sidecar_name(data: object) -> None:
    content = recording_with(plain({"__type__": "file", "__data__": data}))
    with pytest.raises(
        RecordingError, match=r"has response\.body of type file in a body whose __data__ is not"
    ):
        parse(content, "r.json")


def test_parse_rejects_a_file_chunk_in_a_stream() -> None:
    chunks = [
        {"__type__": "json", "__data__": {"a": 1}},
        {"__type__": "file", "__data__": f"files/{DIGEST}.mp3"},
    ]
    response = {"status": 200, "headers": {}, "is_streaming": True, "body": chunks}
    with pytest.raises(RecordingError, match=r"has response.body\[1\] of type file in a stream chunk"):
        parse(recording_with(response), "r.json")


def test_parse_accepts_a_file_body() -> None:
    body = {"__type__": "file", "__data__": f"files/{DIGEST}.mp3"}
    assert parse(recording_with(plain(body)), "r.json")["response"]["body"] == body
