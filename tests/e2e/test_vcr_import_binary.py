"""Cassettes that vcrpy records of binary exchanges import and replay: Bedrock's event-stream answers (stored
by vcrpy as ``!!binary``), its errors, and OpenAI's multipart uploads and audio answers (whose bytes become
sidecar files in ``files/``). Each cassette is recorded by vcrpy against a loopback stand-in, imported with
``llmtape import --from vcr``, then replayed through the same SDK with the server gone and sockets refused.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import boto3
import openai
import pytest
import vcr
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

import llmtape
from llmtape.cli import main
from llmtape.format import sidecar
from llmtape.format.recording import Recording, parse
from tests.conftest import NetworkGuard, Server, start_server

pytestmark = pytest.mark.llmtape(enabled=False)  # vcrpy, not llmtape, records these tests' traffic

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
QUESTION = "What is the weather in Paris?"
SIGNING = ["authorization", "x-amz-security-token", "x-amz-date"]
UPLOAD = "notes.txt", b"The US region grew by 12% this quarter.\n", "text/plain"


@pytest.fixture
def bedrock() -> Iterator[Server]:
    """A fresh Bedrock stand-in for this test, stopped afterwards."""
    live = start_server(module="tests.servers.bedrock")
    yield live
    live.stop()


def bedrock_client(server: Server) -> Any:
    """A boto3 bedrock-runtime client with dummy credentials that makes one attempt per call."""
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{server.port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),  # max_attempts counts retries
    )


def messages(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def invoke_body(text: str) -> str:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": text}],
    }
    return json.dumps(body)


def bedrock_calls(server: Server) -> dict[str, Any]:
    """A Converse, a ConverseStream (all its events) and an InvokeModelWithResponseStream (its chunks'
    Anthropic events decoded), as the application reads them."""
    client = bedrock_client(server)
    try:
        whole = client.converse(modelId=MODEL, messages=messages(QUESTION))
        stream = client.converse_stream(modelId=MODEL, messages=messages(QUESTION))["stream"]
        chunks = client.invoke_model_with_response_stream(
            modelId=MODEL, body=invoke_body(QUESTION), contentType="application/json"
        )["body"]
        return {
            "converse": {k: v for k, v in whole.items() if k != "ResponseMetadata"},
            "converse_stream": list(stream),
            "invoke_stream": [json.loads(event["chunk"]["bytes"]) for event in chunks],
        }
    finally:
        client.close()


def failure(error: ClientError) -> tuple[str, str, int | None]:
    """An error's code, message and HTTP status, as botocore parsed them."""
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error.response["Error"]["Code"], error.response["Error"]["Message"], status


def throttled(server: Server) -> tuple[str, str, int | None]:
    client = bedrock_client(server)
    try:
        client.converse(modelId=MODEL, messages=messages(f"{QUESTION} [throttle]"))
    except ClientError as error:
        return failure(error)
    finally:
        client.close()
    raise AssertionError("no error")


def imported(source: Path, target: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["import", "--from", "vcr", str(source), "--dir", str(target)])
    out, err = capsys.readouterr()
    return code, out, err


def recordings(directory: Path) -> dict[str, Recording]:
    """The recordings of ``directory`` by the last segment of their endpoint."""
    found = [parse(path.read_bytes(), path) for path in directory.glob("*.json")]
    return {recording["request"]["endpoint"].rsplit("/", 1)[-1]: recording for recording in found}


def offline(server: Server, network: NetworkGuard) -> None:
    server.stop()
    network.block()


def test_bedrock_event_streams_import_one_chunk_per_event_and_replay(
    bedrock: Server, tmp_path: Path, network: NetworkGuard, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a cassette vcrpy recorded of a Converse and two event streams through boto3
    cassette = tmp_path / "cassettes" / "bedrock.yaml"
    with vcr.use_cassette(str(cassette), filter_headers=SIGNING):
        recorded = bedrock_calls(bedrock)
    assert "!!binary" in cassette.read_text()
    # When it is imported
    code, out, err = imported(cassette.parent, tmp_path / "rec", capsys)
    # Then each stream is a recording of one chunk per event, named by its event type
    assert (code, err) == (0, "")
    assert ": 3 written, 0 collided, 0 skipped\n" in out
    found = recordings(tmp_path / "rec")
    assert sorted(found) == ["converse", "converse-stream", "invoke-with-response-stream"]
    assert found["converse"]["response"]["is_streaming"] is False
    events = found["converse-stream"]["response"]["body"]
    assert [chunk["__event__"] for chunk in events] == [
        next(iter(event)) for event in recorded["converse_stream"]
    ]
    chunks = found["invoke-with-response-stream"]["response"]["body"]
    assert [chunk["__event__"] for chunk in chunks] == ["chunk"] * len(recorded["invoke_stream"])
    assert [chunk["__data__"]["bytes"] for chunk in chunks] == recorded["invoke_stream"]
    # And llmtape verify finds nothing wrong with them
    assert main(["verify", "--dir", str(tmp_path / "rec")]) == 0
    assert ": 0 with problems" in capsys.readouterr().out
    # And they replay, offline, what boto3 read under vcrpy
    offline(bedrock, network)
    with llmtape.tape(tmp_path / "rec") as replay:
        assert bedrock_calls(bedrock) == recorded
    assert [c.outcome for c in replay.calls] == [llmtape.Outcome.REPLAYED] * 3
    assert network.attempts == []


def test_a_bedrock_throttling_error_imports_and_replays_as_the_same_client_error(
    bedrock: Server, tmp_path: Path, network: NetworkGuard, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a cassette of a call Bedrock throttled (429, x-amzn-ErrorType)
    cassette = tmp_path / "cassettes" / "throttled.yaml"
    with vcr.use_cassette(str(cassette), filter_headers=SIGNING):
        recorded = throttled(bedrock)
    assert recorded == ("ThrottlingException", "Too many requests, please wait before trying again.", 429)
    # When it is imported
    code, out, err = imported(cassette, tmp_path / "rec", capsys)
    assert (code, err) == (0, "")
    assert ": 1 written, 0 collided, 0 skipped\n" in out
    (recording,) = recordings(tmp_path / "rec").values()
    assert recording["response"]["status"] == 429
    assert recording["response"]["headers"]["x-amzn-errortype"].startswith("ThrottlingException:")
    # Then boto3 raises the same ClientError from it, offline
    offline(bedrock, network)
    with llmtape.tape(tmp_path / "rec") as replay:
        assert throttled(bedrock) == recorded
    assert [c.outcome for c in replay.calls] == [llmtape.Outcome.REPLAYED]
    assert network.attempts == []


def corrupted(body: bytes) -> bytes:
    """An event stream whose first message's payload no longer matches its message CRC."""
    (total,) = struct.unpack(">I", body[:4])
    at = total - 5  # the last byte of the payload, just before the CRC
    return body[:at] + bytes([body[at] ^ 0xFF]) + body[at + 1 :]


def test_an_event_stream_that_fails_its_crc_is_skipped_and_the_others_imported(
    bedrock: Server, tmp_path: Path, network: NetworkGuard, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a real cassette whose ConverseStream answer was damaged after recording
    cassette = tmp_path / "cassettes" / "bedrock.yaml"
    with vcr.use_cassette(str(cassette), filter_headers=SIGNING):
        recorded = bedrock_calls(bedrock)
    data = yaml.safe_load(cassette.read_text())
    stream = data["interactions"][1]["response"]["body"]
    stream["string"] = corrupted(stream["string"])
    cassette.write_text(yaml.safe_dump(data))
    # When it is imported
    code, out, err = imported(cassette, tmp_path / "rec", capsys)
    # Then that interaction is reported as undecodable, with the fix, and the other two imported
    place = f"llmtape: skipped {cassette}, interaction 2 of 3 (POST http://127.0.0.1:{bedrock.port}/model/"
    assert err.startswith(place), err
    why = "its event stream cannot be read: an event-stream message fails its CRC32"
    assert f"converse-stream): {why}\n" in err
    assert err.count("llmtape: skipped") == 1
    assert "\n  fix: record the cassette again with vcrpy" in err
    assert "2 written, 0 collided, 1 skipped (1 undecodable body)\n" in out
    assert code == 1
    assert sorted(recordings(tmp_path / "rec")) == ["converse", "invoke-with-response-stream"]
    # And those replay as boto3 read them
    offline(bedrock, network)
    with llmtape.tape(tmp_path / "rec") as replay, closing(bedrock_client(bedrock)) as client:
        whole = client.converse(modelId=MODEL, messages=messages(QUESTION))
    assert {k: v for k, v in whole.items() if k != "ResponseMetadata"} == recorded["converse"]
    assert [c.outcome for c in replay.calls] == [llmtape.Outcome.REPLAYED]
    assert network.attempts == []


@pytest.fixture
def stateful() -> Iterator[Server]:
    """A fresh stateful OpenAI stand-in (files, audio) for this test, stopped afterwards."""
    live = start_server(module="tests.servers.openai_stateful")
    yield live
    live.stop()


def openai_calls(server: Server) -> dict[str, Any]:
    """A file uploaded (multipart/form-data), speech made (audio bytes) and those bytes transcribed (a
    multipart upload that is not UTF-8), as the application reads them."""
    with openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=0) as client:
        uploaded = client.files.create(file=UPLOAD, purpose="assistants")
        audio = client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input=QUESTION).content
        heard = client.audio.transcriptions.create(
            model="whisper-1", file=("speech.mp3", audio, "audio/mpeg"), response_format="text"
        )
        return {"file": uploaded.to_dict(), "audio": audio, "transcript": heard}


def test_multipart_uploads_and_an_audio_answer_import_with_their_bytes_as_sidecars(
    stateful: Server, tmp_path: Path, network: NetworkGuard, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a cassette vcrpy recorded of a file upload, of speech and of its transcription (openai SDK)
    cassette = tmp_path / "cassettes" / "openai.yaml"
    with vcr.use_cassette(str(cassette), filter_headers=["authorization"]):
        recorded = openai_calls(stateful)
    assert recorded["file"]["filename"] == UPLOAD[0]
    assert recorded["transcript"].startswith("Transcribed")
    assert "!!binary" in cassette.read_text()  # the audio, both as answered and as uploaded
    # When it is imported
    code, out, err = imported(cassette, tmp_path / "rec", capsys)
    assert (code, err) == (0, "")
    assert ": 3 written, 0 collided, 0 skipped\n" in out
    # Then the uploaded text's bytes and the audio's are sidecars (one copy of the audio for the answer
    # and the upload), which the recordings name
    files = {path.read_bytes(): f"files/{path.name}" for path in sidecar.present(tmp_path / "rec")}
    assert sorted(files) == sorted([UPLOAD[1], recorded["audio"]])
    found = recordings(tmp_path / "rec")
    assert uploaded_files(found["files"]) == [("file", *UPLOAD[::2], files[UPLOAD[1]])]
    assert uploaded_files(found["transcriptions"]) == [
        ("file", "speech.mp3", "audio/mpeg", files[recorded["audio"]])
    ]
    assert found["speech"]["response"]["body"] == {"__type__": "file", "__data__": files[recorded["audio"]]}
    assert main(["verify", "--dir", str(tmp_path / "rec")]) == 0
    assert ": 0 with problems" in capsys.readouterr().out
    # And the SDK reads the same file object, the very same audio bytes and transcript from them, offline
    offline(stateful, network)
    with llmtape.tape(tmp_path / "rec") as replay:
        assert openai_calls(stateful) == recorded
    assert [c.outcome for c in replay.calls] == [llmtape.Outcome.REPLAYED] * 3
    assert network.attempts == []


def uploaded_files(recording: Recording) -> list[tuple[str, str, str, str]]:
    """The file parts of a recording's multipart request: name, file name, content type, sidecar."""
    parts = recording["request"]["body"]["__data__"]
    return [(p["name"], p["filename"], p["content_type"], p["file"]) for p in parts if "file" in p]


SOURCES: dict[str, tuple[str, Callable[[Server], dict[str, Any]], list[str]]] = {
    "bedrock": ("tests.servers.bedrock", bedrock_calls, SIGNING),
    "openai": ("tests.servers.openai_stateful", openai_calls, ["authorization"]),
}


def stored(directory: Path) -> dict[str, Any]:
    """Each recording's request and framing, and each sidecar, by file name: all but what is fresh on
    every call."""
    found: dict[str, Any] = {path.name: path.read_bytes() for path in sidecar.present(directory)}
    for path in sorted(directory.glob("*.json")):
        recording = parse(path.read_bytes(), path)
        response = recording["response"]
        found[path.name] = {
            "request": recording["request"],
            "content-type": response["headers"].get("content-type"),
            "framing": {k: v for k, v in response.items() if k not in ("body", "headers")},
        }
    return found


@pytest.mark.parametrize("source", ["bedrock", "openai"])
def test_a_cassette_imports_as_a_record_run_stores_the_same_calls(
    source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a cassette of the SDK's calls, and llmtape's own recording of the same calls
    module, calls, filtered = SOURCES[source]
    server = start_server(module=module)
    try:
        with vcr.use_cassette(str(tmp_path / "cassettes" / "calls.yaml"), filter_headers=filtered):
            calls(server)
        with llmtape.tape(tmp_path / "recorded", mode="record", timing=False):  # cassettes have no timing
            calls(server)
    finally:
        server.stop()
    # When the cassette is imported
    assert imported(tmp_path / "cassettes", tmp_path / "imported", capsys)[0] == 0
    # Then it holds the recordings and sidecars the record run stored, under the same names
    assert stored(tmp_path / "imported") == stored(tmp_path / "recorded")
