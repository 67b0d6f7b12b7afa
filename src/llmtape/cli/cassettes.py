"""vcrpy cassettes in the layouts found in the wild, each interaction read as llmtape's request and answer.

The layouts: vcrpy's own (``status: {code, message}``, ``body: {string}``); the one its httpx stub wrote
before vcrpy 6 (``status_code``, ``content``, already decoded); pydantic-ai's serializer (``parsed_body``,
the JSON itself); bodies that other serializers write as YAML mappings. Compressed bodies are decoded
through :mod:`llmtape.compression`. What cannot be read raises :class:`Unusable`: why, and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from llmtape.compression import Undecodable, decoded
from llmtape.errors import RecordingError
from llmtape.format import eventstream, multipart
from llmtape.format.chunks import message_chunk, plain_body, typed, typed_chunk
from llmtape.format.jsonarray import ARRAY_STREAM_SUFFIXES, ArrayDecoder, MalformedArray
from llmtape.format.ndjson import LineDecoder
from llmtape.format.recording import (
    EVENTSTREAM,
    JSON_ARRAY,
    NDJSON,
    RESPONSE_HEADERS,
    Recording,
    StoredResponse,
    framing,
    keep_headers,
    new_recording,
    new_request,
)
from llmtape.format.sse import Decoder

SSE = "text/event-stream"
RECORD_AGAIN = "record the cassette again with vcrpy, or delete this interaction from it"
# The wrappers serializers put around a response body: vcrpy's ``string``, a mapping's ``yaml``.
BODY_KEYS = ("string", "yaml")


class Unusable(Exception):
    """A cassette, or one interaction of it, that cannot become a recording."""

    def __init__(self, reason: str, detail: str, fix: str = RECORD_AGAIN) -> None:
        super().__init__(detail)
        self.reason = reason  # a short name, counted in the import's summary
        self.detail = detail
        self.fix = fix


@dataclass(frozen=True, slots=True)
class Exchange:
    """One interaction: the request's method, URL, content type and body (as stored, with the bytes of the
    sidecars it names), the answer's status, headers and bytes."""

    method: str
    url: str
    body: Any
    status: int
    headers: dict[str, str]  # lower-case names, one value each
    content: bytes  # decoded
    request_type: str = "application/json"
    files: dict[str, bytes] = field(default_factory=dict)


def interactions(path: Path) -> list[Any]:
    """The interactions of a cassette file, as its YAML holds them."""
    try:
        import yaml
    except ImportError:
        raise RecordingError(
            "llmtape: reading vcrpy cassettes needs PyYAML; install it with pip install 'llmtape[vcr]'",
            path=str(path),
        ) from None
    try:
        data = yaml.load(path.read_bytes(), Loader=_loader(yaml))
    except OSError as error:
        raise Unusable("unreadable", f"it cannot be read ({error})", "make it readable") from None
    except yaml.constructor.ConstructorError as error:
        if "python/object" in str(error):
            raise _before_1_0() from None
        raise Unusable("not YAML", f"it is not YAML that vcrpy wrote ({_line(error)})") from None
    except yaml.YAMLError as error:
        raise Unusable(
            "not YAML", f"it is not YAML ({_line(error)})", "repair it, or record it again"
        ) from None
    if isinstance(data, list) and data and isinstance(data[0], dict) and "request" in data[0]:
        raise _before_1_0()
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise Unusable(
            "unknown layout",
            "it is not a vcrpy cassette (no 'interactions' list)",
            "import vcrpy or pytest-recording cassettes only",
        )
    found: list[Any] = data["interactions"]
    return found


def request_line(interaction: Any) -> tuple[str, str]:
    """The method and URL of an interaction's request."""
    request = interaction.get("request") if isinstance(interaction, dict) else None
    if not isinstance(request, dict):
        raise Unusable("no request", "it has no request")
    method, url = request.get("method"), request.get("uri", request.get("url"))
    if not (isinstance(method, str) and isinstance(url, str)):
        raise Unusable("no request", "its request has no method or no uri")
    return method.upper(), url


def exchange(interaction: dict[str, Any]) -> Exchange:
    """An LLM call's interaction as llmtape reads it."""
    method, url = request_line(interaction)
    response = interaction.get("response")
    if not isinstance(response, dict):
        raise Unusable("no response", "it has no response")
    headers = _headers(response.get("headers"))
    status, content = _answer(response, headers)
    request = interaction["request"]
    request_type = _headers(request.get("headers")).get("content-type") or "application/json"
    body, files = _request_body(request, request_type)
    return Exchange(method, url, body, status, headers, content, request_type, files)


def recording(exchange: Exchange, test_id: str | None) -> tuple[Recording, dict[str, bytes]]:
    """The recording of an LLM call's exchange, framed as a record run frames it (see ``live.is_stream``),
    and the bytes of its sidecar files."""
    endpoint = unquote(urlsplit(exchange.url).path)  # as httpx gives it to a record run
    body, files = _stored_body(exchange, endpoint)
    stored: Any = {
        "status": exchange.status,
        "headers": keep_headers(exchange.headers, RESPONSE_HEADERS),
        **body,
    }
    _not_empty(stored)
    headers = {"content-type": exchange.request_type}
    request = new_request(exchange.method, exchange.url, endpoint, headers, exchange.body)
    return new_recording(request, stored, test_id), {**exchange.files, **files}


def _stored_body(exchange: Exchange, endpoint: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    content, headers = exchange.content, exchange.headers
    if headers.get("content-type", "").startswith(SSE):
        events = Decoder()
        found = [*events.feed(content), *events.close()]
        chunks = [typed_chunk(event, endpoint) for event in found if event.data != "[DONE]"]
        return {"is_streaming": True, "body": chunks, "sse_done": len(chunks) < len(found)}, {}
    kind = framing(headers)
    if kind == NDJSON:
        lines = LineDecoder()
        return {
            "is_streaming": True,
            "body": [typed(line, endpoint) for line in [*lines.feed(content), *lines.close()]],
        }, {}
    if kind == EVENTSTREAM:
        return {"is_streaming": True, "body": [message_chunk(*m, endpoint) for m in _messages(content)]}, {}
    if kind == JSON_ARRAY and exchange.status < 400 and endpoint.endswith(ARRAY_STREAM_SUFFIXES):
        return {
            "is_streaming": True,
            "body": [typed(element, endpoint) for element in _elements(content)],
        }, {}
    body, files = plain_body(content, headers.get("content-type", ""), endpoint)
    return {"is_streaming": False, "body": body}, files


def _messages(content: bytes) -> list[tuple[eventstream.Headers, bytes]]:
    decoder = eventstream.Decoder()
    try:
        return [*decoder.feed(content), *decoder.close()]
    except eventstream.MalformedFrames as error:
        raise Unusable("undecodable body", f"its event stream cannot be read: {error}") from None


def _elements(content: bytes) -> list[str]:
    decoder = ArrayDecoder()
    try:
        return [*decoder.feed(content), *decoder.close()]
    except MalformedArray as error:
        raise Unusable("undecodable body", f"its streamed JSON array cannot be read: {error}") from None


def _not_empty(response: StoredResponse) -> None:
    """A successful answer without a body (or a stream without an event) would replay as nothing."""
    if 200 <= response["status"] < 300 and response["body"] in (None, []):
        what = "a stream without a single event" if response["is_streaming"] else "no body"
        raise Unusable("empty answer", f"its answer (status {response['status']}) has {what}")


def node_id(path: Path, root: Path) -> str:
    """The node id of the test that recorded a pytest-recording cassette, whose layout is
    ``<dir>/cassettes/<module>/[<Class>.]<test>.yaml`` for ``<dir>/<module>.py``; else ``vcr:<name>``."""
    folder = path.parent
    if folder.parent.name == "cassettes":
        module = folder.parent.parent / f"{folder.name}.py"
        try:
            relative = module.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            relative = None
        if relative is not None:
            head, bracket, rest = path.stem.partition("[")
            return "::".join([relative, *head.split(".", 1)]) + bracket + rest
    return f"vcr:{path.stem}"


def _request_body(request: dict[str, Any], content_type: str) -> tuple[Any, dict[str, bytes]]:
    """The request body as a record run stores it: its JSON, else the typed form of a multipart, text or
    binary body, with the bytes of the sidecars that form names."""
    if "parsed_body" in request:  # pydantic-ai's serializer
        return _json_value(request["parsed_body"]), {}
    body = request.get("body")
    if body is None or body in ("", b""):
        return None, {}
    if isinstance(body, dict | list):  # a YAML mapping
        return _json_value(body), {}
    content = _decoded(_bytes(body), _headers(request.get("headers")), "request")
    try:
        return multipart.stored_body(content, content_type)
    except multipart.Malformed as error:
        raise Unusable(
            "malformed multipart",
            f"its multipart/form-data request body is malformed ({error}), so it has no recording key",
        ) from None


def _answer(response: dict[str, Any], headers: dict[str, str]) -> tuple[int, bytes]:
    if "status_code" in response:  # vcrpy's httpx stub before vcrpy 6: the content httpx had decoded
        return _status(response["status_code"]), _body(response.get("content"), {})
    status = response.get("status")
    if not isinstance(status, dict | int) or (isinstance(status, dict) and "code" not in status):
        keys = ", ".join(map(str, response)) or "nothing"
        raise Unusable(
            "unknown layout",
            f"its response has neither status nor status_code (it has {keys})",
            "import cassettes of vcrpy, or of a serializer built on it, only",
        )
    code = status["code"] if isinstance(status, dict) else status
    if "parsed_body" in response:  # pydantic-ai's serializer, which decoded it first
        return _status(code), _body(response["parsed_body"], {})
    return _status(code), _body(response.get("body"), headers)


def _body(value: Any, headers: dict[str, str]) -> bytes:
    """A response body's bytes; ``headers`` carry the content-encoding of one stored as sent."""
    if value == {}:  # vcrpy's aiohttp stub writes {} for an answer without a body
        return b""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in BODY_KEYS:
        value = next(iter(value.values()))
    if value is None:
        return b""
    if isinstance(value, dict | list):  # a YAML mapping: the JSON itself
        return orjson.dumps(_json_value(value))
    return _decoded(_bytes(value), headers, "response")


def _decoded(content: bytes, headers: dict[str, str], part: str) -> bytes:
    codings = [coding for coding in headers.get("content-encoding", "").split(",") if coding.strip()]
    if not codings or not content:
        return content
    try:
        return decoded(content, codings)
    except Undecodable as error:
        if _is_text(content):
            # Stored decoded under its header, as vcrpy's aiohttp stub does (and vcrpy reads it the same).
            return content
        raise Unusable(
            "undecodable body",
            f"its {part} body has content-encoding {headers['content-encoding']!r}, but {error}",
            "install what the message names, or record the cassette again with vcrpy's "
            "decode_compressed_response=True (which stores bodies decoded)",
        ) from None


def _headers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {
        str(name).lower(): ", ".join(map(_text, values)) if isinstance(values, list) else _text(values)
        for name, values in value.items()
    }


def _text(value: Any) -> str:
    """A header value as text: botocore sends bytes, which vcrpy writes as ``!!binary``."""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _status(value: Any) -> int:
    try:
        status = int(value)
    except (TypeError, ValueError):
        status = 0
    if not 100 <= status <= 599:
        raise Unusable("unknown layout", f"its response status {value!r} is not an HTTP status")
    return status


def _json_value(value: Any) -> Any:
    """A YAML value as JSON holds it (tuples become lists, dates strings)."""
    try:
        return orjson.loads(orjson.dumps(value))
    except orjson.JSONEncodeError as error:
        raise Unusable("not JSON", f"its body holds a value JSON cannot ({error})") from None


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8", errors="surrogateescape")


def _is_text(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _before_1_0() -> Unusable:
    return Unusable(
        "vcrpy before 1.0",
        "it is a cassette of vcrpy before 1.0",
        "convert it with vcrpy's migration script (python -m vcr.migration PATH), then import it",
    )


def _line(error: Exception) -> str:
    return " ".join(str(error).split())


def _loader(yaml: Any) -> Any:
    """A safe YAML loader that also reads the harmless Python tags vcrpy's dumper writes."""

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        pass

    for tag in ("python/str", "python/unicode"):
        Loader.add_constructor(f"tag:yaml.org,2002:{tag}", lambda loader, node: loader.construct_scalar(node))
    Loader.add_constructor(
        "tag:yaml.org,2002:python/tuple", lambda loader, node: loader.construct_sequence(node)
    )
    # A file-like request body: vcrpy pickled it as BytesIO, its content first in its state.
    Loader.add_constructor(
        "tag:yaml.org,2002:python/object/new:_io.BytesIO",
        lambda loader, node: (loader.construct_mapping(node, deep=True).get("state") or (b"",))[0],
    )
    return Loader
