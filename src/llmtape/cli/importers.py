"""Bring recordings made by other tools: llama-stack's recording files and vcrpy cassettes.

Each importer turns one source file into ``(name, recording)`` pairs keyed by llmtape's own
rule, keeping every chunk's data unchanged.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from llmtape.config import Endpoints
from llmtape.errors import RecordingError
from llmtape.format.chunks import is_ndjson, typed, typed_chunk
from llmtape.format.ndjson import LineDecoder
from llmtape.format.recording import (
    RESPONSE_HEADERS,
    Recording,
    StoredResponse,
    dumps,
    keep_headers,
    new_recording,
    new_request,
    parse,
)
from llmtape.format.sse import Decoder
from llmtape.format.typemap import JSON_TYPE
from llmtape.matching import Matching, recording_key

Imported = tuple[str, Recording]
SSE = "text/event-stream"


def from_llama_stack(path: Path, *, per_test: bool) -> Iterator[Imported]:
    """One llama-stack recording; ``per_test`` keys it by its test id (or, lacking one, its file)."""
    data = _json_file(path)
    request, response = data["request"], data["response"]
    url, endpoint = request["url"], urlsplit(request["url"]).path
    method, body = request["method"].upper(), request.get("body")
    if str(request.get("endpoint", "")).endswith("/models"):
        # The openai SDK lists models with a bodiless GET; llama-stack files it as a POST of {}.
        method, body = "GET", None
    test_id = (data.get("test_id") or f"llama-stack:{path.stem}") if per_test else None
    stored = new_request(method, url, endpoint, {"content-type": "application/json"}, body)
    recording = new_recording(stored, _llama_response(response), test_id)
    yield recording_key(recording, Matching()), checked(recording, path)


def checked(recording: Recording, source: Path) -> Recording:
    """An imported recording, once the format's parser accepts it (the error names the source file)."""
    return parse(dumps(recording), f"{source} (as imported)")


def _llama_response(response: dict[str, Any]) -> StoredResponse:
    if response.get("is_exception"):
        error = response.get("exception_data") or {}
        detail = error.get("body") or {"message": response.get("exception_message", "")}
        body = {"__type__": JSON_TYPE, "__data__": {"error": detail}}
        return _response(int(error.get("status_code") or 500), "application/json", False, body)
    if response.get("is_streaming"):
        return {**_response(200, SSE, True, response["body"]), "sse_done": True}
    body = response["body"]
    if isinstance(body, list):  # a model list, stored item by item
        body = {
            "__type__": JSON_TYPE,
            "__data__": {"object": "list", "data": [item["__data__"] for item in body]},
        }
    return _response(200, "application/json", False, body)


def _response(status: int, content_type: str, streaming: bool, body: Any) -> StoredResponse:
    return {
        "status": status,
        "headers": {"content-type": content_type},
        "is_streaming": streaming,
        "body": body,
    }


def from_vcr(path: Path, endpoints: Endpoints) -> Iterator[Imported]:
    """The LLM calls of a vcrpy (or pytest-recording) YAML cassette; other interactions are skipped."""
    try:
        import yaml
    except ImportError:
        raise RecordingError(
            "llmtape: reading vcrpy cassettes needs PyYAML; install it with pip install 'llmtape[vcr]'",
            path=str(path),
        ) from None
    cassette = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for interaction in cassette.get("interactions", []):
        request = interaction["request"]
        method, url = request["method"].upper(), request["uri"]
        endpoint = urlsplit(url).path
        if endpoints.match(method, endpoint):
            key, recording = _vcr_interaction(method, url, endpoint, request, interaction["response"])
            yield key, checked(recording, path)


def _vcr_interaction(
    method: str, url: str, endpoint: str, request: dict[str, Any], response: dict[str, Any]
) -> Imported:
    raw = _bytes(request.get("body"))
    body = orjson.loads(raw) if raw else None
    headers = {name.lower(): values[0] for name, values in (response.get("headers") or {}).items() if values}
    content = _decoded(
        _bytes((response.get("body") or {}).get("string")), headers.get("content-encoding", "")
    )
    stored = {
        "status": int(response["status"]["code"]),
        "headers": keep_headers(headers, RESPONSE_HEADERS),
        # Bytes that are not UTF-8 travel as surrogates and are stored as they came (see chunks.typed).
        **_vcr_body(content.decode("utf-8", errors="surrogateescape"), headers, endpoint),
    }
    req = new_request(method, url, endpoint, {"content-type": "application/json"}, body)
    recording = new_recording(req, stored)  # type: ignore[arg-type]
    return recording_key(recording, Matching()), recording


def _vcr_body(text: str, headers: dict[str, str], endpoint: str) -> dict[str, Any]:
    if headers.get("content-type", "").startswith(SSE):
        events = Decoder()
        found = [*events.feed(text.encode("utf-8", errors="surrogateescape")), *events.close()]
        chunks = [typed_chunk(event, endpoint) for event in found if event.data != "[DONE]"]
        return {"is_streaming": True, "body": chunks, "sse_done": len(chunks) < len(found)}
    if is_ndjson(headers):
        lines = LineDecoder()
        return {
            "is_streaming": True,
            "body": [
                typed(line, endpoint)
                for line in [*lines.feed(text.encode("utf-8", errors="surrogateescape")), *lines.close()]
            ],
        }
    return {"is_streaming": False, "body": typed(text, endpoint) if text else None}


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _decoded(content: bytes, encoding: str) -> bytes:
    if "gzip" in encoding:
        return gzip.decompress(content)
    if "deflate" in encoding:
        return zlib.decompress(content)
    return content


def _json_file(path: Path) -> dict[str, Any]:
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise RecordingError(f"llmtape: not a JSON recording ({error})", path=str(path)) from None
    if not (isinstance(data, dict) and isinstance(data.get("request"), dict) and "response" in data):
        raise RecordingError("llmtape: not a llama-stack recording (no 'request'/'response')", path=str(path))
    return data
