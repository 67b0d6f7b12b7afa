"""The recording format: what is stored for one request, and the bytes it replays as.

A recording is one JSON object::

    {"request":  {"method", "url", "endpoint", "headers", "body", "model"},
     "response": {"status", "headers", "is_streaming", "body", "sse_done"},
     "llmtape":  {"format": 1}}

A streamed body is a list of typed chunks ``{"__type__": ..., "__data__": ...}`` (plus
``"__event__"`` when the server named the SSE event), one per SSE event or NDJSON line; a
plain body is one typed object. ``__type__`` names the SDK class the data parses as (see
``typemap``); ``json`` and ``text`` mark untyped JSON and non-JSON text.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from llmtape.sse import Event, encode
from llmtape.typemap import TEXT_TYPE, type_name

FORMAT_VERSION = 1
DONE = "[DONE]"

REQUEST_HEADERS = frozenset({"content-type"})
RESPONSE_HEADERS = frozenset(
    {"content-type", "retry-after", "retry-after-ms", "x-should-retry", "x-request-id", "request-id"}
)
SECRET_QUERY_PARAMS = frozenset(
    {"key", "api-key", "api_key", "apikey", "token", "access_token", "sig", "signature", "code"}
)


def typed(text: str, endpoint: str = "") -> dict[str, Any]:
    """Wrap one payload (a JSON document or plain text) received from ``endpoint`` as a typed object."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"__type__": TEXT_TYPE, "__data__": text}
    return {"__type__": type_name(data, endpoint), "__data__": data}


def typed_chunk(event: Event, endpoint: str = "") -> dict[str, Any]:
    """A stored chunk for one SSE event."""
    chunk = typed(event.data, endpoint)
    if event.event is not None:
        chunk["__event__"] = event.event
    return chunk


def is_ndjson(headers: Any) -> bool:
    """True for a newline-delimited JSON stream (Ollama's native API)."""
    return "ndjson" in str(headers.get("content-type", ""))


def chunk_types(response: dict[str, Any]) -> set[str]:
    """The ``__type__`` names a stored response uses."""
    body = response.get("body")
    items = body if isinstance(body, list) else [body]
    return {str(item.get("__type__")) for item in items if isinstance(item, dict)}


def payload_text(item: dict[str, Any]) -> str:
    """The wire text of a typed object: JSON for typed data, the text itself for ``text``."""
    if item["__type__"] == TEXT_TYPE:
        return str(item["__data__"])
    return orjson.dumps(item["__data__"]).decode("utf-8")


def chunk_bytes(chunk: dict[str, Any]) -> bytes:
    """The SSE bytes one stored chunk replays as."""
    if chunk["__type__"] == TEXT_TYPE:
        return encode(Event(data=payload_text(chunk), event=chunk.get("__event__")))
    # The hot path of replay: compact JSON never spans lines, so it is one data line.
    head = b"data: " if "__event__" not in chunk else f"event: {chunk['__event__']}\ndata: ".encode()
    return head + orjson.dumps(chunk["__data__"]) + b"\n\n"


def line_bytes(chunk: dict[str, Any]) -> bytes:
    """The NDJSON line one stored chunk replays as."""
    return payload_text(chunk).encode("utf-8") + b"\n"


def stream_bytes(response: dict[str, Any]) -> list[bytes]:
    """The pieces of a streamed response: SSE events ending in ``[DONE]`` when it did, or NDJSON lines."""
    if is_ndjson(response.get("headers") or {}):
        return [line_bytes(chunk) for chunk in response["body"]]
    pieces = [chunk_bytes(chunk) for chunk in response["body"]]
    if response.get("sse_done", True):
        pieces.append(encode(Event(data=DONE)))
    return pieces


def body_bytes(response: dict[str, Any]) -> bytes:
    """The bytes of a non-streamed response body."""
    body = response["body"]
    return b"" if body is None else payload_text(body).encode("utf-8")


def keep_headers(headers: Any, allowed: frozenset[str]) -> dict[str, str]:
    """Only the allow-listed headers, lower-cased; everything else (auth, cookies) is dropped."""
    return {name.lower(): value for name, value in headers.items() if name.lower() in allowed}


def scrub_url(url: str) -> str:
    """The URL without credential-like query parameters (``key=``, ``api-key=``, ``token=``...)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in SECRET_QUERY_PARAMS
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def new_request(method: str, url: str, endpoint: str, headers: Any, body: Any) -> dict[str, Any]:
    """The stored ``request`` part."""
    model = body.get("model") if isinstance(body, dict) else None
    return {
        "method": method.upper(),
        "url": scrub_url(url),
        "endpoint": endpoint,
        "headers": keep_headers(headers, REQUEST_HEADERS),
        "body": body,
        "model": model,
    }


def new_recording(
    request: dict[str, Any],
    response: dict[str, Any],
    test_id: str | None = None,
    matching: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A whole recording, its keys in the documented order; ``test_id`` in the per-test scope,
    the matching settings when they are not the strict default."""
    head = {} if test_id is None else {"test_id": test_id}
    meta: dict[str, Any] = {"format": FORMAT_VERSION}
    if matching and any(matching.values()):
        meta["matching"] = matching
    return {**head, "request": request, "response": response, "llmtape": meta}


def dumps(recording: dict[str, Any]) -> bytes:
    """The file content: UTF-8 JSON, 2-space indent, trailing newline, insertion order."""
    return orjson.dumps(recording, option=orjson.OPT_INDENT_2) + b"\n"
