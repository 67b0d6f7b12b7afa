"""The recording file format: its types, its version, the one parser every reader uses, and the writer.

A recording is one JSON object::

    {"test_id":  "...",                        (only in the per-test scope)
     "request":  {"method", "url", "endpoint", "headers", "body", "model"},
     "response": {"status", "headers", "is_streaming", "body", "sse_done", "incomplete", "timing"},
     "llmtape":  {"format": 1, "matching": {...}}}

A streamed body is a list of typed chunks ``{"__type__": ..., "__data__": ...}`` (plus the
SSE fields the server sent: ``"__event__"``, ``"__id__"``, ``"__retry__"``), one per SSE event,
NDJSON line or element of a streamed JSON array (told apart by :func:`framing`); a plain body is
one typed object or null. ``__type__`` names the SDK class the
data parses as (see ``typemap``); ``json`` and ``text`` mark untyped JSON and non-JSON text,
``bytes`` a payload that is not UTF-8 (its ``__data__`` is the bytes read as latin-1), ``file`` a body
stored beside the recording (its ``__data__`` names the sidecar, see ``sidecar``). An AWS event-stream
chunk (Bedrock) also has ``"__headers__"`` and ``"__decoded__"`` (see ``chunks``). A request body is the
JSON sent, or for a body that is not JSON a typed object (``multipart``, ``text``, ``file``, see
``multipart``).

Timing (see ``timing``) is optional: ``response.timing`` is ``{"headers_ms", "done_ms"}`` and a chunk's
``"__ms__"`` the milliseconds after the request was sent at which it arrived.

:func:`parse` is the only reader: replay, ``verify``, ``list``, ``show``, ``diff`` and the
importers all go through it, so a file is valid for one exactly when it is valid for all.
"""

from __future__ import annotations

from itertools import repeat
from operator import contains, itemgetter
from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import orjson

from llmtape.errors import RecordingError
from llmtape.format import multipart, sidecar
from llmtape.format.typemap import BYTES_TYPE, FILE_TYPE, KNOWN_TYPES

FORMAT_VERSION = 1

REQUEST_HEADERS = frozenset({"content-type"})
RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "retry-after",
        "retry-after-ms",
        "x-should-retry",
        "x-request-id",
        "request-id",
        "location",
        "openai-poll-after-ms",  # how long the SDK's polling helpers wait before asking again
        "x-amzn-errortype",  # the error code of an AWS answer
        "x-amzn-requestid",
    }
)
# Headers kept by prefix, in requests and responses: Bedrock's parameters and token counts.
KEPT_HEADER_PREFIXES = ("x-amzn-bedrock-",)

SSE, NDJSON, JSON_ARRAY, EVENTSTREAM = "sse", "ndjson", "json-array", "eventstream"  # a stream's framings

SECRET_QUERY_PARAMS = frozenset(
    {"key", "api-key", "api_key", "apikey", "token", "access_token", "sig", "signature", "code"}
)

Chunk = TypedDict(
    "Chunk",
    {
        "__type__": str,
        "__data__": Any,
        "__event__": NotRequired[str],
        "__id__": NotRequired[str],
        "__retry__": NotRequired[str],
        "__headers__": NotRequired[dict[str, Any]],
        "__decoded__": NotRequired[str],
        "__ms__": NotRequired[int],
    },
)
SSE_FIELDS = ("__event__", "__id__", "__retry__")


class StoredRequest(TypedDict):
    method: str
    url: str
    endpoint: str
    headers: dict[str, str]
    body: Any
    model: NotRequired[Any]


class Incomplete(TypedDict):
    error: str
    message: str


class Timing(TypedDict):
    headers_ms: int  # milliseconds from sending the request to its status and headers
    done_ms: int  # ... to the end of its body


class StoredResponse(TypedDict):
    status: int
    headers: dict[str, str]
    is_streaming: bool
    body: Any  # list[Chunk] when streaming, else Chunk | None
    sse_done: NotRequired[bool]
    incomplete: NotRequired[Incomplete]
    timing: NotRequired[Timing]


class MatchingSettings(TypedDict):
    ignore: list[str]
    placeholders: list[list[str]]
    normalizer: str | None
    marker: NotRequired[MatchingSettings | None]  # the part a test's marker added, when it added one


class Meta(TypedDict):
    format: int
    matching: NotRequired[MatchingSettings]


class Recording(TypedDict):
    test_id: NotRequired[str]
    request: StoredRequest
    response: StoredResponse
    llmtape: Meta


def framing(headers: Any) -> str:
    """How a stream is framed, told by its content-type: NDJSON lines (Ollama's native API), one JSON
    array sent element by element (Gemini without ``alt=sse``), AWS event-stream messages (Bedrock), else
    server-sent events. A rule, not a field, so every recording written before the JSON array was known
    reads as it did."""
    content_type = str(headers.get("content-type", "")).lower()
    if "ndjson" in content_type:
        return NDJSON
    if content_type.startswith("application/vnd.amazon.eventstream"):
        return EVENTSTREAM
    return JSON_ARRAY if content_type.startswith("application/json") else SSE


def keep_headers(headers: Any, allowed: frozenset[str]) -> dict[str, str]:
    """Only the allow-listed headers (and those of :data:`KEPT_HEADER_PREFIXES`), lower-cased; everything
    else (auth, signatures, cookies) is dropped."""
    return {
        name.lower(): value
        for name, value in headers.items()
        if name.lower() in allowed or name.lower().startswith(KEPT_HEADER_PREFIXES)
    }


def scrub_url(url: str) -> str:
    """The URL without credentials: no ``user:password@``, no credential-like query parameters (``key=``,
    ``api-key=``, ``token=``...); the other parameters are kept as they were written."""
    parts = urlsplit(url)
    if not parts.query and "@" not in parts.netloc:
        return url
    query = [
        pair
        for pair in parts.query.split("&")
        if pair and unquote_plus(pair.partition("=")[0]).lower() not in SECRET_QUERY_PARAMS
    ]
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], query="&".join(query)))


def new_request(method: str, url: str, endpoint: str, headers: Any, body: Any) -> StoredRequest:
    """The stored ``request`` part."""
    kept = keep_headers(headers, REQUEST_HEADERS)
    if multipart.is_multipart(kept.get("content-type", "")):  # its boundary is the client's random choice
        kept["content-type"] = "multipart/form-data"
    return {
        "method": method.upper(),
        "url": scrub_url(url),
        "endpoint": endpoint,
        "headers": kept,
        "body": body,
        "model": body.get("model") if isinstance(body, dict) else None,
    }


def new_recording(
    request: StoredRequest,
    response: StoredResponse,
    test_id: str | None = None,
    matching: MatchingSettings | None = None,
) -> Recording:
    """A whole recording, its keys in the documented order; ``test_id`` in the per-test scope,
    the matching settings when they are not the strict default."""
    meta: Meta = {"format": FORMAT_VERSION}
    if matching and any(matching.values()):
        meta["matching"] = matching
    recording: dict[str, Any] = {} if test_id is None else {"test_id": test_id}
    recording.update(request=request, response=response, llmtape=meta)
    return cast(Recording, recording)


def files_of(recording: Recording) -> list[str]:
    """The names of the sidecar files a recording refers to (in its request body and response body)."""
    names = multipart.files_of(recording["request"]["body"])
    body = recording["response"]["body"]
    if not recording["response"]["is_streaming"] and isinstance(body, dict) and body["__type__"] == FILE_TYPE:
        names.append(body["__data__"])
    return names


def dumps(recording: Recording) -> bytes:
    """The file content: UTF-8 JSON, 2-space indent, trailing newline, insertion order."""
    return orjson.dumps(recording, option=orjson.OPT_INDENT_2) + b"\n"


def parse(content: bytes, path: Path | str) -> Recording:
    """Decode and check a recording file; anything off raises :class:`RecordingError` naming the file,
    the place in it, and the fix."""
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError as error:
        raise _error(f"is not valid JSON ({error})", path) from None
    _check(data, path)
    return cast(Recording, data)


def _error(problem: str, path: Path | str) -> RecordingError:
    return RecordingError(f"llmtape: the recording {problem}; record it again", path=path)


def _check(data: Any, path: Path | str) -> None:
    if not isinstance(data, dict):
        raise _error("is not a JSON object", path)
    meta = data.get("llmtape")
    version = meta.get("format") if isinstance(meta, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _error(f"has no valid llmtape.format (found {version!r}; expected {FORMAT_VERSION})", path)
    if version > FORMAT_VERSION:
        raise RecordingError(
            f"llmtape: the recording has format {version}, newer than this llmtape reads ({FORMAT_VERSION}); "
            "upgrade llmtape (pip install -U llmtape)",
            path=path,
        )
    if "test_id" in data and not isinstance(data["test_id"], str):
        raise _error("has a test_id that is not a string", path)
    assert isinstance(meta, dict)  # it held a valid format
    problems = [
        *_matching_problems(meta.get("matching")),
        *_request_problems(data.get("request")),
        *_response_problems(data.get("response")),
    ]
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise _error(problems[0] + more, path)


def _fields(value: Any, name: str, types: dict[str, type | tuple[type, ...]]) -> list[str]:
    if not isinstance(value, dict):
        return [f"has no '{name}' object"]
    problems = []
    for field, expected in types.items():
        if field not in value:
            problems.append(f"lacks {name}.{field}")
        elif not isinstance(value[field], expected) or (expected is int and isinstance(value[field], bool)):
            problems.append(f"has a {name}.{field} of type {type(value[field]).__name__}")
    return problems


def _matching_problems(matching: Any) -> list[str]:
    if matching is None:
        return []
    ignore = matching.get("ignore", []) if isinstance(matching, dict) else None
    pairs = matching.get("placeholders", []) if isinstance(matching, dict) else None
    normalizer = matching.get("normalizer") if isinstance(matching, dict) else None
    if not (
        isinstance(ignore, list)
        and all(isinstance(path, str) for path in ignore)
        and isinstance(pairs, list)
        and all(isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in pairs)
        and (normalizer is None or isinstance(normalizer, str))
        and _marker_ok(matching.get("marker"))
    ):
        return [
            "has an llmtape.matching that is not {ignore: [paths], placeholders: [[regex, text]], normalizer}"
        ]
    return []


def _marker_ok(marker: Any) -> bool:
    """The part a marker added: null, or settings of the same shape (without a marker of their own)."""
    return marker is None or (
        isinstance(marker, dict) and "marker" not in marker and not _matching_problems(marker)
    )


def _request_problems(request: Any) -> list[str]:
    problems = _fields(request, "request", {"method": str, "url": str, "endpoint": str, "body": object})
    problems = problems or _header_problems(request.get("headers"), "request")
    return problems or multipart.problems(request["body"])


def _response_problems(response: Any) -> list[str]:
    problems = _fields(response, "response", {"status": int, "is_streaming": bool, "body": object})
    if problems:
        return problems
    if not 100 <= response["status"] <= 599:
        return [f"has response.status {response['status']}, not an HTTP status"]
    problems += _header_problems(response.get("headers"), "response")
    for flag in ("sse_done",):
        if flag in response and not isinstance(response[flag], bool):
            problems.append(f"has a response.{flag} that is not true or false")
    incomplete = response.get("incomplete")
    if incomplete is not None and not isinstance(incomplete, dict):
        problems.append("has a response.incomplete that is not an object")
    timing = response.get("timing")
    if timing is not None and not (
        isinstance(timing, dict) and all(_is_ms(timing.get(name)) for name in ("headers_ms", "done_ms"))
    ):
        problems.append("has a response.timing that is not {headers_ms, done_ms} of whole milliseconds")
    body = response.get("body")
    if response["is_streaming"]:
        if not isinstance(body, list):
            return [*problems, "is streamed but its response.body is not a list of chunks"]
        if not _plainly_typed(body):  # the fast path for the hundreds of chunks of a stream
            problems += [p for index, chunk in enumerate(body) for p in _chunk_problems(chunk, f"[{index}]")]
    elif body is not None:
        problems += _chunk_problems(body, "")
    return problems


def _header_problems(headers: Any, name: str) -> list[str]:
    if headers is None:
        return [f"lacks {name}.headers"]
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        return [f"has {name}.headers that are not an object of strings"]
    return []


def _plainly_typed(chunks: list[Any]) -> bool:
    """True when every chunk is a typed object of a known type: checked in bulk, by C-level passes over the
    hundreds of chunks of a stream, without a Python step per chunk; a field no chunk has costs no pass."""
    try:
        # Only an object is indexed by a string key, and the known types are strings.
        kinds = set(map(itemgetter("__type__"), chunks))
        names = set().union(*chunks)
    except (TypeError, KeyError):
        return False
    if not (kinds <= KNOWN_TYPES and not kinds & _CHECKED_ONE_BY_ONE and names <= _PLAIN_FIELDS):
        return False
    fields = {
        t
        for name in SSE_FIELDS
        if name in names
        for t in map(type, map(dict.get, chunks, repeat(name), repeat("")))
    }
    if not fields <= {str} or not all(map(contains, chunks, repeat("__data__"))):
        return False
    if "__ms__" not in names:
        return True
    times = set(map(type, map(dict.get, chunks, repeat("__ms__"))))
    return times <= _TIME_TYPES and min(filter(None, map(dict.get, chunks, repeat("__ms__"))), default=0) >= 0


_CHECKED_ONE_BY_ONE = frozenset({BYTES_TYPE, FILE_TYPE})
_TIME_TYPES = frozenset({int, type(None)})  # a chunk's __ms__, or none
# The fields of a chunk checked in bulk; a chunk with any other (__headers__, __decoded__) is checked alone.
_PLAIN_FIELDS = frozenset({"__type__", "__data__", *SSE_FIELDS, "__ms__"})


def _chunk_problems(chunk: Any, where: str) -> list[str]:
    place = f"response.body{where}"
    if not isinstance(chunk, dict) or not isinstance(chunk.get("__type__"), str) or "__data__" not in chunk:
        return [f"has {place} that is not a typed object {{'__type__': ..., '__data__': ...}}"]
    if chunk["__type__"] not in KNOWN_TYPES:
        return [f"has {place} of unknown __type__ {chunk['__type__']!r} (only the type map's names replay)"]
    for name in SSE_FIELDS:
        if name in chunk and not isinstance(chunk[name], str):
            return [f"has {place} whose {name} is not a string"]
    if chunk["__type__"] == BYTES_TYPE and not _is_latin1(chunk["__data__"]):
        return [f"has {place} of type bytes whose __data__ is not text of one character per byte"]
    if chunk["__type__"] == FILE_TYPE and (where or not sidecar.is_name(chunk["__data__"])):
        what = "a stream chunk" if where else "a body whose __data__ is not a sidecar name"
        return [f"has {place} of type file in {what} (files/<sha256>.<ext>)"]
    if chunk.get("__ms__") is not None and not _is_ms(chunk["__ms__"]):
        return [f"has {place} whose __ms__ is not a whole number of milliseconds"]
    headers = chunk.get("__headers__")
    if headers is not None and not (
        isinstance(headers, dict)
        and all(isinstance(value, str | int) for value in headers.values())  # bool is an int
    ):
        return [f"has {place} whose __headers__ are not an object of text, numbers and booleans"]
    if "__decoded__" in chunk and (
        chunk["__decoded__"] != "bytes" or not isinstance(chunk["__data__"], dict)
    ):
        return [f"has {place} whose __decoded__ is not 'bytes' of an object's data"]
    return []


def _is_ms(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_latin1(data: Any) -> bool:
    if not isinstance(data, str):
        return False
    try:
        data.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
