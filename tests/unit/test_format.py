"""The format module's parser: the one reader of recordings, and what it says about a bad one."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from llmtape.errors import RecordingError
from llmtape.format.recording import FORMAT_VERSION, dumps, new_recording, new_request, parse

REQUEST = new_request("POST", "http://h/v1/chat/completions", "/v1/chat/completions", {}, {"model": "m"})
CHUNK = {"__type__": "json", "__data__": {"x": 1}}
STREAMED = new_recording(
    REQUEST,
    {"status": 200, "headers": {}, "is_streaming": True, "body": [CHUNK, dict(CHUNK)], "sse_done": True},
)


def damaged(change: Any) -> bytes:
    data: Any = copy.deepcopy(STREAMED)
    change(data)
    return orjson.dumps(data)


def test_a_recording_llmtape_writes_parses_back_unchanged() -> None:
    assert parse(dumps(STREAMED), "r.json") == STREAMED
    assert STREAMED["llmtape"] == {"format": FORMAT_VERSION}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["response"].update(status="200"), "has a response.status of type str"),
        (lambda d: d["response"].update(status=True), "has a response.status of type bool"),
        (lambda d: d["response"].update(status=42), "has response.status 42, not an HTTP status"),
        (lambda d: d["response"].update(is_streaming=False, body=7), "has response.body that is not a typed"),
        (lambda d: d["response"]["body"][1].pop("__data__"), "has response.body[1] that is not a typed"),
        (lambda d: d["response"].update(headers="content-type: json"), "has response.headers that are not"),
        (lambda d: d["request"].update(headers=None), "lacks request.headers"),
        (lambda d: d["response"].update(body={"a": 1}), "is streamed but its response.body is not a list"),
        (lambda d: d["response"]["body"][0].update(__type__="os.system"), "of unknown __type__ 'os.system'"),
        (lambda d: d["response"]["body"][0].update(__event__=3), "whose __event__ is not a string"),
        (lambda d: d["response"]["body"][1].update(__id__=7), "whose __id__ is not a string"),
        (lambda d: d["response"]["body"][0].update(__retry__=None), "whose __retry__ is not a string"),
        (
            lambda d: d["response"]["body"][1].update(__type__="bytes", __data__="caf\u00e9 \u2713"),
            "has response.body[1] of type bytes whose __data__ is not text of one character per byte",
        ),
        (
            lambda d: d["response"].update(is_streaming=False, body={"__type__": "bytes", "__data__": [1]}),
            "has response.body of type bytes whose __data__ is not text of one character per byte",
        ),
        (lambda d: d["request"].pop("endpoint"), "lacks request.endpoint"),
        (lambda d: d.pop("response"), "has no 'response' object"),
        (lambda d: d.pop("llmtape"), "has no valid llmtape.format (found None; expected 1)"),
        (lambda d: d["llmtape"].update(format="1"), "has no valid llmtape.format (found '1'; expected 1)"),
        (lambda d: d.update(test_id=5), "has a test_id that is not a string"),
        (lambda d: d["response"]["body"][1].update(__ms__="12"), "whose __ms__ is not a whole number of"),
        (lambda d: d["response"]["body"][0].update(__ms__=-1), "whose __ms__ is not a whole number of"),
        (lambda d: d["response"]["body"][0].update(__ms__=1.5), "whose __ms__ is not a whole number of"),
        (lambda d: d["response"]["body"][0].update(__ms__=True), "whose __ms__ is not a whole number of"),
        (lambda d: d["response"].update(timing={"headers_ms": 3}), "has a response.timing that is not"),
        (lambda d: d["response"].update(timing=[3, 4]), "has a response.timing that is not"),
        (
            lambda d: d["response"].update(timing={"headers_ms": 3, "done_ms": "4"}),
            "has a response.timing that is not {headers_ms, done_ms} of whole milliseconds",
        ),
    ],
)
def test_an_ill_typed_recording_is_refused_with_the_file_and_the_place(change: Any, problem: str) -> None:
    with pytest.raises(RecordingError) as raised:
        parse(damaged(change), "recordings/abc.json")
    message = str(raised.value)
    assert message.startswith("llmtape: the recording ")
    assert problem in message
    assert "record it again" in message
    assert message.endswith("\n  file: recordings/abc.json")


def test_timing_is_an_optional_part_of_format_1() -> None:
    timed: Any = copy.deepcopy(STREAMED)
    timed["response"]["timing"] = {"headers_ms": 120, "done_ms": 950}
    for at, chunk in zip((400, 0), timed["response"]["body"], strict=True):
        chunk["__ms__"] = at
    assert parse(dumps(timed), "r.json") == timed
    assert timed["llmtape"] == {"format": 1}


def test_a_file_of_a_newer_format_asks_for_a_newer_llmtape() -> None:
    with pytest.raises(RecordingError, match=r"has format 2, newer than this llmtape reads \(1\); upgrade"):
        parse(damaged(lambda d: d["llmtape"].update(format=FORMAT_VERSION + 1)), "r.json")


def test_every_problem_is_counted_but_the_first_is_named() -> None:
    def two(data: Any) -> None:
        data["response"]["body"][0].pop("__type__")
        data["response"]["body"][1].pop("__type__")

    with pytest.raises(RecordingError, match=r"response.body\[0\] .* \(and 1 more problems\)"):
        parse(damaged(two), "r.json")


@pytest.mark.parametrize("content", [b"", b"[]", b'"text"', b"{", b"\xff\xfe"])
def test_what_is_not_a_json_object_is_refused(content: bytes) -> None:
    with pytest.raises(
        RecordingError, match=r"llmtape: the recording (is not valid JSON|is not a JSON object)"
    ):
        parse(content, "r.json")


@pytest.mark.parametrize(
    "matching", [5, {"placeholders": [["a"]]}, {"ignore": [1]}, {"ignore": "body.user"}, {"normalizer": 3}]
)
def test_ill_typed_matching_settings_are_refused_before_anything_trusts_them(matching: object) -> None:
    with pytest.raises(RecordingError, match=r"has an llmtape.matching that is not"):
        parse(damaged(lambda d: d["llmtape"].update(matching=matching)), "r.json")


def test_bytes_and_every_sse_field_parse_back_unchanged() -> None:
    chunks = [
        {"__type__": "bytes", "__data__": "caf\u00e9", "__id__": "1", "__retry__": "3000"},
        {"__type__": "text", "__data__": "[DONE]", "__event__": "end", "__id__": "2"},
    ]
    recording = copy.deepcopy(STREAMED)
    recording["response"]["body"] = chunks
    assert parse(dumps(recording), "r.json") == recording
