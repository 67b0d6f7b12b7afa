"""Typed chunks and the wire bytes they replay as: SSE events, NDJSON lines, or one plain body."""

from __future__ import annotations

from typing import Any

import orjson

from llmtape.format.recording import Chunk, StoredResponse
from llmtape.format.sse import Event, encode
from llmtape.format.typemap import TEXT_TYPE, type_name

DONE = "[DONE]"


def typed(text: str, endpoint: str = "") -> Chunk:
    """Wrap one payload (a JSON document or plain text) received from ``endpoint`` as a typed object."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"__type__": TEXT_TYPE, "__data__": text}
    return {"__type__": type_name(data, endpoint), "__data__": data}


def typed_chunk(event: Event, endpoint: str = "") -> Chunk:
    """A stored chunk for one SSE event."""
    chunk = typed(event.data, endpoint)
    if event.event is not None:
        chunk["__event__"] = event.event
    return chunk


def is_ndjson(headers: Any) -> bool:
    """True for a newline-delimited JSON stream (Ollama's native API)."""
    return "ndjson" in str(headers.get("content-type", ""))


def payload_text(item: Chunk) -> str:
    """The wire text of a typed object: JSON for typed data, the text itself for ``text``."""
    if item["__type__"] == TEXT_TYPE:
        return str(item["__data__"])
    return orjson.dumps(item["__data__"]).decode("utf-8")


def chunk_bytes(chunk: Chunk) -> bytes:
    """The SSE bytes one stored chunk replays as."""
    if chunk["__type__"] == TEXT_TYPE:
        return encode(Event(data=payload_text(chunk), event=chunk.get("__event__")))
    # The hot path of replay: compact JSON never spans lines, so it is one data line.
    head = b"data: " if "__event__" not in chunk else f"event: {chunk['__event__']}\ndata: ".encode()
    return head + orjson.dumps(chunk["__data__"]) + b"\n\n"


def line_bytes(chunk: Chunk) -> bytes:
    """The NDJSON line one stored chunk replays as."""
    return payload_text(chunk).encode("utf-8") + b"\n"


def stream_bytes(response: StoredResponse) -> list[bytes]:
    """The pieces of a streamed response: SSE events ending in ``[DONE]`` when it did, or NDJSON lines."""
    if is_ndjson(response["headers"]):
        return [line_bytes(chunk) for chunk in response["body"]]
    pieces = [chunk_bytes(chunk) for chunk in response["body"]]
    if response.get("sse_done", True):
        pieces.append(encode(Event(data=DONE)))
    return pieces


def body_bytes(response: StoredResponse) -> bytes:
    """The bytes of a non-streamed response body."""
    body = response["body"]
    return b"" if body is None else payload_text(body).encode("utf-8")
