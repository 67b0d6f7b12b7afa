"""Request bodies that are not JSON: multipart uploads (their files as sidecars, their boundary not stored),
raw text and binary bodies, and what the parser accepts of them."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from llmtape.errors import RecordingError
from llmtape.format import multipart
from llmtape.format.multipart import Malformed, problems, stored_body
from llmtape.format.recording import dumps, files_of, new_recording, new_request, parse
from llmtape.incoming import request_body

URL = "http://api.example/v1/audio/transcriptions"
AUDIO = b"ID3\x04\x00\xff\xfb\x90\x00" * 10


def sent(**options: Any) -> httpx.Request:
    """The request httpx sends for these ``data``/``files``, its body read."""
    request = httpx.Request("POST", URL, **options)
    request.read()
    return request


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def upload(audio: bytes = AUDIO) -> httpx.Request:
    return sent(
        data={"model": "whisper-1", "language": "en"},
        files={"file": ("speech.mp3", audio, "audio/mpeg"), "notes": ("notes.txt", b"hi", "text/plain")},
    )


def test_an_httpx_upload_is_stored_as_its_parts_in_order_with_files_beside() -> None:
    request = upload()
    body, files = stored_body(request.content, request.headers["content-type"])
    audio, notes = f"files/{sha(AUDIO)}.mp3", f"files/{sha(b'hi')}.txt"
    assert body == {
        "__type__": "multipart",
        "__data__": [
            {"name": "model", "value": "whisper-1"},
            {"name": "language", "value": "en"},
            {"name": "file", "filename": "speech.mp3", "content_type": "audio/mpeg", "file": audio},
            {"name": "notes", "filename": "notes.txt", "content_type": "text/plain", "file": notes},
        ],
    }
    assert files == {audio: AUDIO, notes: b"hi"}
    assert multipart.files_of(body) == [audio, notes]


def test_the_random_boundary_is_in_neither_the_body_nor_the_stored_headers() -> None:
    first, second = upload(), upload()
    assert first.headers["content-type"] != second.headers["content-type"]  # each picks its boundary
    assert request_body(first) == request_body(second)
    stored = [
        new_request("POST", URL, "/v1/audio/transcriptions", r.headers, request_body(r)[0])
        for r in (first, second)
    ]
    assert stored[0] == stored[1]
    assert stored[0]["headers"] == {"content-type": "multipart/form-data"}


def test_another_file_content_is_another_name() -> None:
    one, _ = request_body(upload())
    other, _ = request_body(upload(AUDIO + b"\x00"))
    assert one["__data__"][2]["file"] != other["__data__"][2]["file"]
    assert one["__data__"][3] == other["__data__"][3]


def raw_multipart(*parts: bytes, boundary: bytes = b"XyZ") -> bytes:
    lines = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    return lines + b"--" + boundary + b"--\r\n"


def test_a_part_that_is_not_utf8_is_a_file_even_without_a_file_name() -> None:
    image = b"\x89PNG\xff\x00"
    content = raw_multipart(
        b'Content-Disposition: form-data; name="text"\r\n\r\nplain \xc3\xa9',
        b'Content-Disposition: form-data; name="blob"\r\nContent-Type: image/png\r\n\r\n' + image,
    )
    body, files = stored_body(content, "multipart/form-data; boundary=XyZ")
    name = f"files/{sha(image)}.png"
    assert body["__data__"] == [
        {"name": "text", "value": "plain é"},
        {"name": "blob", "filename": "", "content_type": "image/png", "file": name},
    ]
    assert files == {name: image}


def test_a_quoted_boundary_and_a_part_holding_line_breaks() -> None:
    value = b"line one\r\nline two\r\n--not the boundary"
    content = raw_multipart(b'Content-Disposition: form-data; name="prompt"\r\n\r\n' + value)
    body, _ = stored_body(content, 'multipart/form-data; boundary="XyZ"')
    assert body["__data__"] == [{"name": "prompt", "value": value.decode()}]


@pytest.mark.parametrize(
    ("content", "content_type", "problem"),
    [
        (
            raw_multipart(b'Content-Disposition: form-data; name="a"\r\n\r\n1'),
            "multipart/form-data",
            "no boundary",
        ),
        (
            raw_multipart(b'Content-Disposition: form-data; name="a"\r\n\r\n1')[:-9],
            "multipart/form-data; boundary=XyZ",
            "does not end with its closing boundary",
        ),
        (
            b"not multipart at all",
            "multipart/form-data; boundary=XyZ",
            "does not end with its closing boundary",
        ),
        (
            raw_multipart(b'Content-Disposition: form-data; name="a"'),
            "multipart/form-data; boundary=XyZ",
            "no blank line after its headers",
        ),
        (
            raw_multipart(b"Content-Disposition: form-data\r\n\r\n1"),
            "multipart/form-data; boundary=XyZ",
            "a part has no name",
        ),
    ],
)
def test_a_malformed_multipart_body_is_refused(content: bytes, content_type: str, problem: str) -> None:
    with pytest.raises(Malformed, match=problem):
        stored_body(content, content_type)


def test_a_raw_body_that_is_not_json_is_text_when_utf8_else_a_file() -> None:
    assert stored_body("café = ✓".encode(), "text/plain") == (
        {"__type__": "text", "__data__": "café = ✓"},
        {},
    )
    data = b"\x89PNG\r\n\x1a\n\xff"
    name = f"files/{sha(data)}.png"
    assert stored_body(data, "image/png") == ({"__type__": "file", "__data__": name}, {name: data})
    assert request_body(sent(content=data, headers={"content-type": "image/png"})) == (
        {"__type__": "file", "__data__": name},
        {name: data},
    )


@pytest.mark.parametrize(
    "body",
    [
        {"__type__": "file", "__data__": "files/../../etc/passwd"},
        {"__type__": "file", "__data__": "files/" + "a" * 63 + ".bin"},
        {"__type__": "file", "__data__": "files/" + "A" * 64 + ".bin"},
        {
            "__type__": "multipart",
            "__data__": [{"name": "f", "filename": "x", "content_type": "", "file": "../x"}],
        },
        {
            "__type__": "multipart",
            "__data__": [
                {"name": "f", "filename": "x", "content_type": "", "file": f"files/{'0' * 64}/../.bin"}
            ],
        },
        {"__type__": "multipart", "__data__": [{"name": "f", "file": f"files/{'0' * 64}.bin"}]},
        {"__type__": "multipart", "__data__": [{"name": "f", "value": 3}]},
        {"__type__": "multipart", "__data__": {"name": "f", "value": "x"}},
    ],
)
def test_problems_flags_names_that_are_not_sidecars_and_parts_of_no_shape(body: dict[str, Any]) -> None:
    assert len(problems(body)) == 1


def test_problems_has_nothing_to_say_of_json_bodies_and_sound_parts() -> None:
    assert problems({"model": "m", "__type__": "file"}) == []
    assert problems(None) == []
    assert problems(request_body(upload())[0]) == []


def recording_with(body: Any, response_body: Any = None) -> bytes:
    request = new_request("POST", URL, "/v1/audio/transcriptions", {}, body)
    response = {"status": 200, "headers": {}, "is_streaming": False, "body": response_body}
    return dumps(new_recording(request, response))  # type: ignore[arg-type]


def test_parse_accepts_a_multipart_recording_and_files_of_names_its_sidecars() -> None:
    body, files = request_body(upload())
    answer = {"__type__": "file", "__data__": f"files/{sha(b'answer')}.bin"}
    recording = parse(recording_with(body, answer), "r.json")
    assert recording["request"]["body"] == body
    assert files_of(recording) == [*files, answer["__data__"]]


def test_parse_rejects_a_multipart_body_naming_a_path_outside_files() -> None:
    body, _ = request_body(upload())
    body["__data__"][2]["file"] = "../../etc/passwd"
    with pytest.raises(RecordingError, match=r"has a request\.body multipart whose parts are not"):
        parse(recording_with(body), "r.json")
    with pytest.raises(RecordingError, match=r"has a request\.body file that is not a sidecar name"):
        parse(recording_with({"__type__": "file", "__data__": "/etc/passwd"}), "r.json")
