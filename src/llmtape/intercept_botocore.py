"""Interception of boto3 / botocore clients (AWS Bedrock runtime), through botocore's event system.

Once llmtape is installed (when the pytest plugin loads, or a tape first starts; botocore is not imported
for it), every botocore session created from then on gives its clients, through botocore's
``creating-client-class`` event, a base class that adds a ``before-send`` handler to each client:
botocore asks its handlers before it sends a signed request, and sends nothing when one answers. With no
tape active the handler answers nothing, so it stays installed. An LLM call of an active tape is carried
like any other (``carry.handle``): the key is taken from the method, path and body, never from the
signature, its date or the credentials, and none of the request's headers but its content type is
stored. A live call goes out through the client's own HTTP session (its proxies, certificates and
timeouts); that session is the client's ``_endpoint.http_session``, the one attribute botocore offers no
public way to reach.

aiobotocore's clients are left to the interceptor of their HTTP stack (aiohttp, or httpx), which sees
their calls as plain HTTP and keys them the same.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import importlib.util
import json
import sys
from collections.abc import Iterator
from typing import Any

import httpx

from llmtape import carry
from llmtape.config import place
from llmtape.context import active

# botocore's error code for each of llmtape's own answers (a miss, a failure), read from x-amzn-errortype.
_CODES = {"llmtape_missing_recording": "LlmtapeMissingRecording", "llmtape_error": "LlmtapeError"}


def install() -> None:
    """Have every botocore session created from now on give its sync clients llmtape's handler: at once
    when botocore is imported, else as soon as it is (so that a run that never uses it never loads it)."""
    if "botocore.handlers" in sys.modules:
        _register(sys.modules["botocore.handlers"])
    elif not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport())


def _register(handlers: Any) -> None:
    entry = ("creating-client-class", _taped_class)
    if entry not in handlers.BUILTIN_HANDLERS:
        handlers.BUILTIN_HANDLERS.append(entry)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Registers llmtape's handler the moment ``botocore.handlers`` has been imported."""

    def find_spec(
        self, name: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != "botocore.handlers":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module: Any) -> None:
            original(module)
            _register(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _taped_class(base_classes: list[type[Any]], **kwargs: Any) -> None:
    """Put llmtape's base class first among a new sync client class's bases (not aiobotocore's)."""
    if any(base.__module__.startswith("aiobotocore") for base in base_classes):
        return
    if _Taped not in base_classes:
        base_classes.insert(0, _Taped)


class _Taped:
    """The base class that registers llmtape's ``before-send`` handler on each client it makes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        endpoint = getattr(self, "_endpoint", None)
        handler = functools.partial(_before_send, endpoint)
        self.meta.events.register_first("before-send", handler, unique_id="llmtape-before-send")  # type: ignore[attr-defined]


def _before_send(endpoint: Any, request: Any, **kwargs: Any) -> Any:
    tape = active()
    if tape is None:
        return None
    url = httpx.URL(request.url)
    if not tape.options.intercepts(request.method, url.path, place(url.scheme, url.host, url.port)):
        return None
    outgoing = httpx.Request(
        request.method, url, headers=list(request.headers.items()), content=_content(request)
    )

    def send(restored: httpx.Request) -> httpx.Response:
        # Sent as signed: the stable ids of a request are not swapped back (a Bedrock conversation's tool
        # use ids are matched within the request, so its stable ones serve as well).
        request.reset_stream()
        live = endpoint.http_session.send(request)
        headers = list(live.headers.items())
        # botocore's session reads the whole body of an operation whose output is not a stream.
        body = _LiveBody(live.raw) if request.stream_output else httpx.ByteStream(live.content)
        return httpx.Response(live.status_code, headers=headers, stream=body, request=outgoing)

    answer = carry.handle(tape, outgoing, send)
    if answer is None:
        return None  # live mode: botocore sends it itself
    return _aws_response(request.url, _as_aws_error(answer))


def _content(request: Any) -> bytes:
    body = request.body
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    content = body.read()  # a file-like body: read, then rewound for a live send (reset_stream)
    request.reset_stream()
    return content if isinstance(content, bytes) else str(content).encode("utf-8")


def _as_aws_error(answer: httpx.Response) -> httpx.Response:
    """llmtape's own answer (a miss, a failure) in the shape botocore reads an AWS error in, so its
    ``ClientError`` carries llmtape's message; a failure is a 400, which botocore does not retry."""
    kind = answer.headers.get("x-llmtape")
    if kind not in _CODES:
        return answer
    message = json.loads(answer.read())["error"]["message"]
    status = answer.status_code if answer.status_code < 500 else 400
    headers = {"x-amzn-errortype": _CODES[kind], "x-llmtape": kind}
    return httpx.Response(status, headers=headers, json={"message": message})


def _aws_response(url: str, answer: httpx.Response) -> Any:
    from botocore.awsrequest import AWSResponse  # type: ignore[import-untyped]
    from urllib3 import HTTPHeaderDict

    return AWSResponse(url, answer.status_code, HTTPHeaderDict(answer.headers.multi_items()), _Raw(answer))


class _LiveBody(httpx.SyncByteStream):
    """A live urllib3 response's body as an httpx stream (raw bytes: httpx decodes them)."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def __iter__(self) -> Iterator[bytes]:
        yield from self._raw.stream(2**16)

    def close(self) -> None:
        self._raw.close()


class _Raw:
    """An answer's body read as botocore reads a urllib3 response: ``stream()``, ``read(amt)``, ``close()``.
    A stream that breaks off raises urllib3's ``ProtocolError``, as a broken connection does."""

    def __init__(self, answer: httpx.Response) -> None:
        self._answer = answer
        self._pieces = answer.iter_bytes()
        self._left = b""

    def stream(self, amt: int | None = None, decode_content: bool | None = None) -> Iterator[bytes]:
        """Each piece as it arrives (an event-stream message as soon as it is whole)."""
        if self._left:
            left, self._left = self._left, b""
            yield left
        while (piece := self._next()) is not None:
            yield piece

    def read(self, amt: int | None = None, decode_content: bool | None = None) -> bytes:
        while amt is None or len(self._left) < amt:
            piece = self._next()
            if piece is None:
                break
            self._left += piece
        cut = len(self._left) if amt is None else amt
        data, self._left = self._left[:cut], self._left[cut:]
        return data

    def _next(self) -> bytes | None:
        from urllib3.exceptions import ProtocolError

        try:
            return next(self._pieces, None)
        except httpx.TransportError as error:
            raise ProtocolError(str(error)) from error

    def close(self) -> None:
        self._answer.close()

    def release_conn(self) -> None:
        self._answer.close()
