"""Binary bodies end to end: answers that are not text and uploaded files live in ``files/`` beside the
recordings, replay byte-identical offline, fail clearly when missing or altered, and never hold a
credential."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

import llmtape
from llmtape.cli import main
from tests.conftest import NetworkGuard, Server, start_server
from tests.fake_credentials import credentials, random_text

MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x64" + bytes(range(256))
MP3_NAME = f"files/{hashlib.sha256(MP3).hexdigest()}.mp3"
SPEECH = {"input": "Hello", "model": "tts-1", "voice": "alloy"}  # what the SDK sends for speech()


def speech(base_url: str, answer: bytes, content_type: str) -> bytes:
    """What the OpenAI SDK reads from the speech endpoint, which the stand-in answers with ``answer``."""
    raw = {"x-test-raw": base64.b64encode(answer).decode(), "x-test-raw-type": content_type}
    with openai.OpenAI(base_url=base_url, api_key="test", max_retries=0) as client:
        spoken = client.audio.speech.create(model="tts-1", voice="alloy", input="Hello", extra_headers=raw)
        return spoken.content


def only_recording(directory: Path) -> dict[str, Any]:
    (path,) = directory.glob("*.json")
    return json.loads(path.read_text())


def test_a_binary_answer_is_a_sidecar_that_replays_byte_identical_offline(
    server: Server, network: NetworkGuard, tmp_path: Path
) -> None:
    with llmtape.tape(tmp_path, mode="record"):
        assert speech(server.base_url, MP3, "audio/mpeg") == MP3
    response = only_recording(tmp_path)["response"]
    assert response["body"] == {"__type__": "file", "__data__": MP3_NAME}
    assert (tmp_path / MP3_NAME).read_bytes() == MP3
    assert [p.name for p in (tmp_path / "files").iterdir()] == [MP3_NAME.removeprefix("files/")]
    # When the server is gone and the network blocked, the bytes still come back
    base_url = server.base_url
    server.stop()
    network.block()
    with llmtape.tape(tmp_path) as replay:
        assert speech(base_url, MP3, "audio/mpeg") == MP3
    assert replay.counts()[llmtape.Outcome.REPLAYED] == 1
    assert network.attempts == []


@pytest.mark.parametrize(
    ("content_type", "answer", "stored"),
    [
        ("audio/mpeg", b"only ASCII, yet audio", "file"),  # the type decides, not the bytes
        # text in bytes that are not UTF-8 stays readable, one character per byte
        ("text/plain; charset=latin-1", b"caf\xe9", {"__type__": "bytes", "__data__": "caf\u00e9"}),
        ("", b"\x89PNG\r\n\x1a\n\xff", "file"),  # no type, and not UTF-8: bytes of their own
        ("text/plain", "café ✓".encode(), {"__type__": "text", "__data__": "café ✓"}),
        ("application/json", b'{"words":["a","b"]}', {"__type__": "json", "__data__": {"words": ["a", "b"]}}),
    ],
)
def test_only_text_answers_stay_in_the_recording(
    server: Server, tmp_path: Path, content_type: str, answer: bytes, stored: object
) -> None:
    with llmtape.tape(tmp_path, mode="record"):
        assert speech(server.base_url, answer, content_type) == answer
    body = only_recording(tmp_path)["response"]["body"]
    if stored == "file":
        assert body["__type__"] == "file"
        assert (tmp_path / body["__data__"]).read_bytes() == answer
    else:
        assert body == stored
        assert not (tmp_path / "files").exists()
    with llmtape.tape(tmp_path):
        assert speech(server.base_url, answer, content_type) == answer


def damage(path: Path, how: str) -> None:
    if how == "deleted":
        path.unlink()
    else:
        path.write_bytes(MP3[:-1] + b"\x00")


@pytest.mark.parametrize(("how", "said"), [("deleted", "is missing"), ("altered", "was altered")])
def test_a_damaged_sidecar_fails_the_call_and_verify_reports_it(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str, said: str
) -> None:
    with llmtape.tape(tmp_path, mode="record"):
        speech(server.base_url, MP3, "audio/mpeg")
    (recording,) = tmp_path.glob("*.json")
    damage(tmp_path / MP3_NAME, how)
    # When the recording replays, the caller gets llmtape's error, naming the file and the fix
    with llmtape.tape(tmp_path, strict=False) as replay:
        answer = httpx.post(f"{server.base_url}/audio/speech", json=SPEECH)
    assert answer.status_code == 500
    assert answer.headers["x-llmtape"] == "llmtape_error"
    (call,) = replay.calls
    assert call.outcome == llmtape.Outcome.FAILED
    assert call.error is not None
    assert call.error.startswith(f"llmtape: the recording's file {MP3_NAME} {said}")
    assert f"({tmp_path / MP3_NAME}); restore it from version control" in call.error
    assert "or record again" in call.error
    assert f"file: {recording}" in call.error
    assert answer.json()["error"]["message"] == call.error
    # And verify says the same, failing
    capsys.readouterr()
    assert main(["verify", "--dir", str(tmp_path), "--no-schema"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{recording}: the recording's file {MP3_NAME} {said}")
    assert lines[0].endswith("or record again")
    assert lines[-1] == f"llmtape: verified 1 recordings in {tmp_path}: 1 with problems (1 in all)"
    # Recording again mends it
    with llmtape.tape(tmp_path, mode="rewrite"):
        speech(server.base_url, MP3, "audio/mpeg")
    assert (tmp_path / MP3_NAME).read_bytes() == MP3
    assert main(["verify", "--dir", str(tmp_path), "--no-schema"]) == 0


@pytest.fixture
def uploads() -> Iterator[Server]:
    """A stand-in that answers an upload without parsing it: the Bedrock one, which answers any route it
    does not serve with a JSON 404."""
    live = start_server(module="tests.servers.bedrock")
    yield live
    live.stop()


def transcribe(server: Server, audio: bytes) -> httpx.Response:
    url = f"http://127.0.0.1:{server.port}/v1/audio/transcriptions"
    return httpx.post(url, data={"model": "whisper-1"}, files={"file": ("speech.mp3", audio, "audio/mpeg")})


def test_an_upload_records_its_file_as_a_sidecar_and_replays_offline(uploads: Server, tmp_path: Path) -> None:
    with llmtape.tape(tmp_path, mode="record"):
        live = transcribe(uploads, MP3)
    request = only_recording(tmp_path)["request"]
    assert request["headers"] == {"content-type": "multipart/form-data"}
    assert request["body"]["__data__"] == [
        {"name": "model", "value": "whisper-1"},
        {"name": "file", "filename": "speech.mp3", "content_type": "audio/mpeg", "file": MP3_NAME},
    ]
    assert (tmp_path / MP3_NAME).read_bytes() == MP3
    uploads.stop()
    with llmtape.tape(tmp_path) as replay:
        again = transcribe(uploads, MP3)  # another random boundary: the same key
    assert replay.counts()[llmtape.Outcome.REPLAYED] == 1
    assert (again.status_code, again.content) == (live.status_code, live.content)


@pytest.mark.parametrize("secret", ["environment", "shape"])
def test_an_upload_holding_a_credential_is_not_written(
    uploads: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    if secret == "environment":
        value = random_text(40, seed=7)
        monkeypatch.setenv("MY_SERVICE_API_KEY", value)
        found = "the value of MY_SERVICE_API_KEY"
    else:
        value = credentials()["OpenAI key"]
        found = f"OpenAI key {value[:6]}…"
    audio = MP3 + f"config: {value}\n".encode()
    name = f"files/{hashlib.sha256(audio).hexdigest()}.mp3"
    with llmtape.tape(tmp_path, mode="record", strict=False) as active:
        transcribe(uploads, audio)
    assert list(tmp_path.rglob("*")) == []  # no recording, no sidecar
    (call,) = active.calls
    assert call.outcome == llmtape.Outcome.FAILED
    assert call.error is not None
    assert call.error.startswith(f"llmtape: refused to write a recording whose file {name} contains {found};")
    assert "(not written)" in call.error
    assert value not in call.error
