"""Typed chunks and the wire bytes they replay as: SSE events, NDJSON lines, JSON array elements, AWS
event-stream messages, or one plain body.

A payload that is not UTF-8 is stored as ``{"__type__": "bytes", "__data__": <its bytes read as
latin-1>}``: one character per byte, so its ASCII stays readable, credentials in it are found and
redacted as in any text, and encoding it as latin-1 gives back the very bytes that replay. On their
way through the decoders such bytes travel as text holding surrogates (``surrogateescape``).

An event-stream message is one chunk: its payload as the data, its ``:event-type`` (``:exception-type`` for
an exception) as ``__event__``, and all its headers as ``__headers__`` only when they are not the usual
three of an event (``:event-type``, ``:content-type: application/json``, ``:message-type: event``). A
payload ``{"bytes": "<base64 of JSON>"}`` (the chunks of ``InvokeModelWithResponseStream``) is stored with
that JSON decoded, readable, and ``"__decoded__": "bytes"``; it is decoded only when the JSON framed again
gives the very bytes that came. Replay frames each chunk again, with valid checksums.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import orjson

from llmtape.format import eventstream, jsonarray, sidecar
from llmtape.format.recording import EVENTSTREAM, JSON_ARRAY, NDJSON, Chunk, StoredResponse, framing
from llmtape.format.sse import Event, encode
from llmtape.format.typemap import BYTES_TYPE, FILE_TYPE, TEXT_TYPE, type_name

DONE = "[DONE]"
# Content types whose bodies are text, stored in the recording itself; any other body is a sidecar file.
TEXT_TYPES = (
    "text/",
    "application/json",
    "application/x-ndjson",
    "application/xml",
    "application/javascript",
)
TEXT_SUFFIXES = ("+json", "+xml")
_NOT_JSON = frozenset({TEXT_TYPE, BYTES_TYPE})


def typed(text: str, endpoint: str = "") -> Chunk:
    """Wrap one payload (a JSON document, plain text, or bytes that are not UTF-8, carried as surrogates)
    received from ``endpoint`` as a typed object."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raw = text.encode("utf-8", errors="surrogateescape")
            return {"__type__": BYTES_TYPE, "__data__": raw.decode("latin-1")}
        return {"__type__": TEXT_TYPE, "__data__": text}
    return {"__type__": type_name(data, endpoint), "__data__": data}


def typed_bytes(content: bytes, endpoint: str = "") -> Chunk:
    """Wrap a whole body received from ``endpoint``: bytes that are not UTF-8 are kept as they came."""
    return typed(content.decode("utf-8", errors="surrogateescape"), endpoint)


def plain_body(
    content: bytes, content_type: str, endpoint: str = ""
) -> tuple[Chunk | None, dict[str, bytes]]:
    """The stored body of a whole response from ``endpoint``, and its sidecar: a body of a text content
    type (or of none, when it is UTF-8) is kept in the recording, as ``bytes`` when it is not UTF-8;
    anything else (audio, an image, a file's bytes) is a ``file``."""
    if not content:
        return None, {}
    body = typed_bytes(content, endpoint)
    kind = content_type.partition(";")[0].strip().lower()
    if (
        kind.startswith(TEXT_TYPES)
        or kind.endswith(TEXT_SUFFIXES)
        or (not kind and body["__type__"] != BYTES_TYPE)
    ):
        return body, {}
    name = sidecar.name_for(content, content_type)
    return {"__type__": FILE_TYPE, "__data__": name}, {name: content}


def typed_chunk(event: Event, endpoint: str = "") -> Chunk:
    """A stored chunk for one SSE event, with its every field."""
    chunk = typed(event.data, endpoint)
    if event.event is not None:
        chunk["__event__"] = event.event
    if event.id is not None:
        chunk["__id__"] = event.id
    if event.retry is not None:
        chunk["__retry__"] = event.retry
    return chunk


DECODED = "bytes"  # the payload field of an event-stream chunk that is stored decoded from base64


def message_chunk(headers: eventstream.Headers, payload: bytes, endpoint: str = "") -> Chunk:
    """The stored chunk of one event-stream message."""
    chunk = typed_bytes(payload, endpoint)  # an empty payload is empty text
    decoded = _decoded(chunk["__data__"]) if chunk["__type__"] != TEXT_TYPE else None
    if decoded is not None:
        chunk["__data__"] = decoded
        chunk["__decoded__"] = DECODED
    event = str(headers.get(":event-type") or headers.get(":exception-type") or "")
    chunk["__event__"] = event
    if headers != _usual(event):
        chunk["__headers__"] = headers
    return chunk


def _usual(event: str) -> eventstream.Headers:
    return {":event-type": event, ":content-type": "application/json", ":message-type": "event"}


def _decoded(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict) or not isinstance(data.get(DECODED), str):
        return None
    try:
        raw = base64.b64decode(data[DECODED], validate=True)
        inner = orjson.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return {**data, DECODED: inner} if orjson.dumps(inner) == raw else None


def message_bytes(chunk: Chunk) -> bytes:
    """The event-stream message one stored chunk replays as."""
    headers = chunk.get("__headers__") or _usual(chunk.get("__event__", ""))
    data = chunk["__data__"]
    if chunk.get("__decoded__") == DECODED:
        wire = {**data, DECODED: base64.b64encode(orjson.dumps(data[DECODED])).decode("ascii")}
        return eventstream.frame(headers, orjson.dumps(wire))
    return eventstream.frame(headers, payload_bytes(chunk))


def payload_bytes(item: Chunk) -> bytes:
    """The wire bytes of a typed object: JSON for typed data, the text itself for ``text``, the bytes
    themselves for ``bytes``."""
    kind = item["__type__"]
    if kind == TEXT_TYPE:
        return str(item["__data__"]).encode("utf-8")
    if kind == BYTES_TYPE:
        return str(item["__data__"]).encode("latin-1")
    return orjson.dumps(item["__data__"])


def event_of(chunk: Chunk) -> Event:
    """The SSE event a stored chunk stands for."""
    data = payload_bytes(chunk).decode("utf-8", errors="surrogateescape")
    return Event(data, chunk.get("__event__"), chunk.get("__id__"), chunk.get("__retry__"))


def chunk_bytes(chunk: Chunk) -> bytes:
    """The SSE bytes one stored chunk replays as."""
    if chunk["__type__"] in _NOT_JSON or "__id__" in chunk or "__retry__" in chunk:
        return encode(event_of(chunk))
    # The hot path of replay: compact JSON never spans lines, so it is one data line.
    head = b"data: " if "__event__" not in chunk else f"event: {chunk['__event__']}\ndata: ".encode()
    return head + orjson.dumps(chunk["__data__"]) + b"\n\n"


def line_bytes(chunk: Chunk) -> bytes:
    """The NDJSON line one stored chunk replays as."""
    return payload_bytes(chunk) + b"\n"


def stream_bytes(response: StoredResponse) -> list[bytes]:
    """The pieces of a streamed response: SSE events ending in ``[DONE]`` when it did, NDJSON lines, or
    the elements of a JSON array (closed unless the stream broke off)."""
    kind = framing(response["headers"])
    if kind == NDJSON:
        return [line_bytes(chunk) for chunk in response["body"]]
    if kind == EVENTSTREAM:
        return [message_bytes(chunk) for chunk in response["body"]]
    if kind == JSON_ARRAY:
        elements = [payload_bytes(chunk) for chunk in response["body"]]
        return jsonarray.pieces(elements, closed="incomplete" not in response)
    pieces = [chunk_bytes(chunk) for chunk in response["body"]]
    if response.get("sse_done", True):
        pieces.append(encode(Event(data=DONE)))
    return pieces


def body_bytes(response: StoredResponse, sidecar: Callable[[str], bytes]) -> bytes:
    """The bytes of a non-streamed response body; a body stored beside the recording is read with
    ``sidecar``."""
    body = response["body"]
    if body is None:
        return b""
    return sidecar(body["__data__"]) if body["__type__"] == FILE_TYPE else payload_bytes(body)
