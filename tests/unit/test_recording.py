"""The recording format: typed objects, header allow-lists, URL scrubbing, file layout."""

from __future__ import annotations

import orjson
import pytest

from llmtape.format.chunks import (
    body_bytes,
    chunk_bytes,
    line_bytes,
    stream_bytes,
    typed,
    typed_bytes,
    typed_chunk,
)
from llmtape.format.recording import dumps, keep_headers, new_recording, new_request, scrub_url
from llmtape.format.sse import Event
from llmtape.secrets import environment_secrets, recording_shapes, redact_recording


@pytest.mark.parametrize(
    ("payload", "type_name"),
    [
        ({"object": "chat.completion.chunk"}, "openai.types.chat.chat_completion_chunk.ChatCompletionChunk"),
        ({"object": "chat.completion"}, "openai.types.chat.chat_completion.ChatCompletion"),
        ({"object": "text_completion"}, "openai.types.completion.Completion"),
        (
            {"object": "list", "data": [{"object": "embedding"}]},
            "openai.types.create_embedding_response.CreateEmbeddingResponse",
        ),
        ({"object": "list", "data": [{"object": "model"}]}, "json"),
        ({"error": {"message": "rate limited"}}, "json"),
        ([1, 2], "json"),
    ],
)
def test_type_names_come_from_the_explicit_map(payload: object, type_name: str) -> None:
    assert typed(orjson.dumps(payload).decode()) == {"__type__": type_name, "__data__": payload}


def test_non_json_payloads_are_stored_as_text() -> None:
    assert typed("<html>Bad Gateway</html>") == {"__type__": "text", "__data__": "<html>Bad Gateway</html>"}


def test_bytes_that_are_not_utf8_are_stored_one_character_per_byte_and_replayed_unchanged() -> None:
    latin1 = b'{"text": "caf\xe9"}'
    body = typed_bytes(latin1)
    assert body == {"__type__": "bytes", "__data__": '{"text": "caf\u00e9"}'}
    response = {"status": 200, "headers": {}, "is_streaming": False, "body": body}
    assert body_bytes(response, {}.__getitem__) == latin1  # type: ignore[arg-type]
    assert line_bytes(typed_bytes(b"\xff")) == b"\xff\n"
    assert typed_bytes("café ✓".encode()) == {"__type__": "text", "__data__": "café ✓"}


def test_a_credential_in_bytes_that_are_not_utf8_is_redacted_and_caught_like_any_text() -> None:
    # One character per byte keeps an ASCII key readable in the file, so the secret gate sees it
    key = "sk-proj-" + "a1B2c3D4e5" * 4
    body = typed_bytes(f'{{"echo": "{key}", "t": "caf'.encode() + b'\xe9"}')
    request = new_request("POST", "http://h/v1/chat/completions", "/v1/chat/completions", {}, {"model": "m"})
    recording = new_recording(request, {"status": 200, "headers": {}, "is_streaming": False, "body": body})
    assert recording_shapes(recording)
    redacted = redact_recording(recording, environment_secrets({"OPENAI_API_KEY": key}))
    assert redacted["response"]["body"]["__data__"] == '{"echo": "<OPENAI_API_KEY>", "t": "caf\u00e9"}'


def test_an_sse_chunk_keeps_and_replays_every_field() -> None:
    chunk = typed_chunk(Event(data="caf\udce9", event="delta", id="7", retry="3000"))
    assert chunk == {
        "__type__": "bytes",
        "__data__": "caf\u00e9",
        "__event__": "delta",
        "__id__": "7",
        "__retry__": "3000",
    }
    assert chunk_bytes(chunk) == b"event: delta\nid: 7\nretry: 3000\ndata: caf\xe9\n\n"
    assert chunk_bytes(typed_chunk(Event(data='{"a":1}', id="8"))) == b'id: 8\ndata: {"a":1}\n\n'


def test_named_sse_events_keep_their_name() -> None:
    assert typed_chunk(Event(data='{"type":"ping"}', event="ping"))["__event__"] == "ping"
    assert "__event__" not in typed_chunk(Event(data="{}"))


def test_a_stream_replays_as_one_event_per_chunk_then_done() -> None:
    chunk = typed('{"object":"chat.completion.chunk","id":"c1"}')
    response = {"status": 200, "headers": {}, "is_streaming": True, "body": [chunk, chunk], "sse_done": True}
    expected = b'data: {"object":"chat.completion.chunk","id":"c1"}\n\n'
    assert stream_bytes(response) == [expected, expected, b"data: [DONE]\n\n"]
    assert stream_bytes({**response, "sse_done": False})[-1] == expected


def test_only_allow_listed_headers_are_kept() -> None:
    headers = {"Content-Type": "application/json", "Authorization": "Bearer x", "Set-Cookie": "s=1"}
    assert keep_headers(headers, frozenset({"content-type"})) == {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        (
            "https://x.openai.azure.com/openai/chat/completions?api-version=2024&api-key=abc",
            "https://x.openai.azure.com/openai/chat/completions?api-version=2024",
        ),
        ("https://g.example/v1/models?key=AIza123&token=t&Signature=s", "https://g.example/v1/models"),
        ("http://127.0.0.1:8089/v1/chat/completions", "http://127.0.0.1:8089/v1/chat/completions"),
        # A user name and password go too; the other parameters stay as they were written.
        (
            "https://ada:pw@h.example/v1/models?auth=<SERVICE_TOKEN>&q=a%2Fb+c&API%5FKEY=k&flag",
            "https://h.example/v1/models?auth=<SERVICE_TOKEN>&q=a%2Fb+c&flag",
        ),
    ],
)
def test_credentials_in_query_strings_are_removed(url: str, stored: str) -> None:
    assert scrub_url(url) == stored


def test_file_layout_is_stable_indented_json_with_a_trailing_newline() -> None:
    request = new_request(
        "post",
        "http://h/v1/chat/completions?key=k",
        "/v1/chat/completions",
        {"authorization": "Bearer sk-1", "content-type": "application/json"},
        {"model": "m", "messages": []},
    )
    text = dumps(new_recording(request, {"status": 200, "headers": {}, "is_streaming": False, "body": None}))
    assert text.endswith(b"}\n")
    assert text.startswith(
        b'{\n  "request": {\n    "method": "POST",\n    "url": "http://h/v1/chat/completions"'
    )
    parsed = orjson.loads(text)
    assert list(parsed) == ["request", "response", "llmtape"]
    assert list(parsed["request"]) == ["method", "url", "endpoint", "headers", "body", "model"]
    assert parsed["request"]["headers"] == {"content-type": "application/json"}
    assert parsed["request"]["model"] == "m"
