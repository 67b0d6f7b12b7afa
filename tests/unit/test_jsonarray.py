"""The streamed JSON array (Gemini's ``:streamGenerateContent`` without ``alt=sse``): the incremental decoder,
however the bytes are cut, the pieces it replays as, and the recorder that stores and re-encodes it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmtape.format.chunks import stream_bytes
from llmtape.format.jsonarray import ArrayDecoder, MalformedArray, pieces
from llmtape.format.recording import JSON_ARRAY, StoredResponse, framing
from llmtape.live import StreamRecorder, is_stream

# Two elements as Google sends them: pretty-printed, "\n,\r\n" between, strings holding every character
# that means something outside a string, escaped quotes and backslashes, and non-ASCII text.
TRICKY = (
    '[{\n  "candidates": [{"content": {"parts": [{"text": "a [list], {an: object}, \\"quoted\\" \\\\"}]}}],\n'
    '  "modelVersion": "gemini-2.0-flash"\n}\n,\r\n'
    '{"candidates": [{"content": {"parts": [{"text": "caf\u00e9 \\u2603 ]}"}]}, "finishReason": "STOP"}]}\n]'
).encode()


def decode(*cut: bytes) -> list[Any]:
    decoder = ArrayDecoder()
    found = [element for piece in cut for element in decoder.feed(piece)]
    return [json.loads(element) for element in [*found, *decoder.close()]]


def test_two_elements_are_found_whole() -> None:
    elements = decode(TRICKY)
    assert elements == json.loads(TRICKY)
    assert (
        elements[0]["candidates"][0]["content"]["parts"][0]["text"] == 'a [list], {an: object}, "quoted" \\'
    )
    assert elements[1]["candidates"][0]["content"]["parts"][0]["text"] == "café ☃ ]}"


@pytest.mark.parametrize("at", range(len(TRICKY) + 1))
def test_a_split_at_any_byte_gives_the_same_elements(at: int) -> None:
    # Splits inside strings, escapes, the multi-byte "é" and the separator included.
    assert decode(TRICKY[:at], TRICKY[at:]) == json.loads(TRICKY)


def test_one_byte_at_a_time_gives_each_element_as_soon_as_it_is_whole() -> None:
    decoder = ArrayDecoder()
    completed_at = [at for at in range(len(TRICKY)) if decoder.feed(TRICKY[at : at + 1])]
    # The first element is complete at its closing brace, before the separator has arrived.
    assert TRICKY[completed_at[0]] == ord("}")
    assert TRICKY[completed_at[0] + 1 :].startswith(b"\n,\r\n")
    assert len(completed_at) == 2
    assert decoder.close() == []


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"  [ \r\n ]  \n",
        b"[1,-2.5e3,true,false,null]",
        b'["a,b]", "\\\\", "\\""]',
        b'[[1, [2, []]], {}, {"a": {"b": [{}]}}]',
        b'[\n{"a": 1}\n,\r\n{"b": 2}\n]',
        b'\t[ {"a" : 1} , {"b":2} ]\r\n',
    ],
    ids=["empty", "empty-spaced", "scalars", "strings", "nested", "google", "spaced"],
)
def test_every_json_array_is_decoded_into_its_elements(body: bytes) -> None:
    assert decode(body) == json.loads(body)
    assert decode(*[body[at : at + 1] for at in range(len(body))]) == json.loads(body)


def test_a_truncated_stream_gives_the_elements_that_came_then_fails_at_the_end() -> None:
    decoder = ArrayDecoder()
    cut = TRICKY[: TRICKY.index(b"caf")]
    assert [json.loads(e) for e in decoder.feed(cut)] == json.loads(TRICKY)[:1]
    with pytest.raises(MalformedArray, match=r"ended before its closing '\]' \(\d+ bytes left over\)"):
        decoder.close()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", r"ended before its closing '\]' \(0 bytes left over\)"),
        (b"[", r"ended before its closing"),
        (b'[{"a": 1},', r"ended before its closing"),
        (b'[{"a": "]}', r"ended before its closing"),
        (b"[1, 2] trailing", r"followed by 8 bytes that are not whitespace"),
    ],
)
def test_a_body_that_ends_wrong_is_malformed(body: bytes, problem: str) -> None:
    decoder = ArrayDecoder()
    decoder.feed(body)
    with pytest.raises(MalformedArray, match=problem):
        decoder.close()


def test_a_body_that_is_not_an_array_is_refused_at_its_first_byte() -> None:
    with pytest.raises(MalformedArray, match=r"not a JSON array: it starts with b'\{'"):
        ArrayDecoder().feed(b'  {"error": {}}')


def test_an_element_that_is_not_json_is_still_cut_out_whole() -> None:
    decoder = ArrayDecoder()
    assert decoder.feed(b'[{"a": tru}, {"b": 1}]') == ['{"a": tru}', '{"b": 1}']


def test_bytes_that_are_not_utf8_travel_as_surrogates() -> None:
    (element,) = ArrayDecoder().feed(b'["caf\xe9"]')
    assert element.encode("utf-8", errors="surrogateescape") == b'"caf\xe9"'


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)


@given(st.lists(json_values, max_size=6), st.sampled_from([None, 1, 2]), st.integers(1, 40))
def test_any_array_in_any_layout_decodes_however_the_bytes_are_cut(
    elements: list[Any], indent: int | None, size: int
) -> None:
    wire = json.dumps(elements, indent=indent, ensure_ascii=False).encode()
    assert decode(*[wire[at : at + size] for at in range(0, len(wire), size)]) == elements


def test_the_pieces_are_the_array_element_by_element() -> None:
    elements = [b'{"a":1}', b'{"b":[2]}']
    sent = pieces(elements)
    assert sent == [b'[{"a":1}', b'\n,\r\n{"b":[2]}', b"\n]"]
    assert json.loads(b"".join(sent)) == [{"a": 1}, {"b": [2]}]
    assert json.loads(b"".join(pieces([]))) == []
    assert pieces(elements, closed=False) == sent[:2]
    assert pieces([], closed=False) == []


def streamed(headers: dict[str, str], chunks: list[dict[str, Any]], **more: Any) -> StoredResponse:
    body = [{"__type__": "json", "__data__": chunk} for chunk in chunks]
    return {"status": 200, "headers": headers, "is_streaming": True, "body": body, **more}


def test_replay_frames_a_stream_by_its_stored_content_type_and_older_recordings_read_as_before() -> None:
    chunks = [{"a": 1}, {"b": 2}]
    array = stream_bytes(streamed({"content-type": "application/json; charset=UTF-8"}, chunks))
    assert json.loads(b"".join(array)) == chunks
    assert len(array) == 3
    # Recordings written before the JSON array was known: SSE without a content-type or with its own, NDJSON.
    assert stream_bytes(streamed({}, chunks, sse_done=True))[0] == b'data: {"a":1}\n\n'
    assert stream_bytes(streamed({"content-type": "text/event-stream"}, chunks))[-1] == b"data: [DONE]\n\n"
    assert stream_bytes(streamed({"content-type": "application/x-ndjson"}, chunks)) == [
        b'{"a":1}\n',
        b'{"b":2}\n',
    ]
    assert framing(httpx.Headers({"Content-Type": "Application/JSON"})) == JSON_ARRAY


def test_a_stream_that_broke_off_replays_without_its_closing_bracket() -> None:
    headers = {"content-type": "application/json"}
    broken = streamed(headers, [{"a": 1}], incomplete={"error": "ReadError", "message": "gone"})
    assert stream_bytes(broken) == [b'[{"a":1}']


ENDPOINT = "http://127.0.0.1:9/v1beta/models/gemini-2.0-flash:streamGenerateContent"


def live_response(
    status: int = 200, url: str = ENDPOINT, content_type: str = "application/json"
) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": content_type}, request=httpx.Request("POST", url))


class Saved:
    """Where a recorder puts what it stores (no stable ids, no timing)."""

    ids = None

    def __init__(self) -> None:
        self.responses: list[StoredResponse] = []
        self.abandoned: list[str] = []

    def __call__(self, response: StoredResponse) -> None:
        self.responses.append(response)

    def abandon(self, reason: str) -> None:
        self.abandoned.append(reason)

    def ms(self) -> None:
        return None

    def timing(self) -> None:
        return None


def test_only_a_stream_request_answered_with_json_is_recorded_as_an_array() -> None:
    assert is_stream(live_response())
    assert is_stream(
        live_response(url=ENDPOINT.replace("/v1beta/", "/v1beta1/projects/p/locations/l/publishers/google/"))
    )
    assert not is_stream(live_response(400))  # an error is one JSON document, stored whole
    assert not is_stream(live_response(url=ENDPOINT.replace("streamGenerateContent", "generateContent")))
    assert not is_stream(live_response(url="http://127.0.0.1:9/v1/chat/completions"))
    assert is_stream(live_response(content_type="text/event-stream"))


def test_the_recorder_stores_each_element_typed_and_hands_over_what_replay_will() -> None:
    saved = Saved()
    recorder = StreamRecorder(live_response(), saved)
    given = [out for at in range(0, len(TRICKY), 7) for out in recorder.feed(TRICKY[at : at + 7])]
    given += list(recorder.finish())
    (stored,) = saved.responses
    assert [chunk["__type__"] for chunk in stored["body"]] == [
        "google.genai.types.GenerateContentResponse"
    ] * 2
    assert [chunk["__data__"] for chunk in stored["body"]] == json.loads(TRICKY)
    assert "sse_done" not in stored
    assert "incomplete" not in stored
    assert given == stream_bytes(stored)
    assert json.loads(b"".join(given)) == json.loads(TRICKY)


def test_the_recorder_keeps_a_truncated_array_as_incomplete_and_fails_as_replay_will() -> None:
    saved = Saved()
    recorder = StreamRecorder(live_response(), saved)
    given = list(recorder.feed(TRICKY[:-20]))
    with pytest.raises(httpx.RemoteProtocolError, match="the JSON array ended before its closing"):
        list(recorder.finish())
    (stored,) = saved.responses
    assert stored["incomplete"]["error"] == "MalformedArray"
    assert len(stored["body"]) == 1
    assert given == stream_bytes(stored)  # the first element, without the closing bracket
