"""Interception of the connection pools under httpx and httpx2, through respx's mocker extension point
(aiohttp sessions: intercept_aiohttp.py; boto3 clients: intercept_botocore.py).

llmtape registers a respx ``Mocker`` of its own for each connection-pool library, ``httpcore``
(under ``httpx``) and, when installed, ``httpcore2`` (under ``httpx2``, the stack of ``openai``
3.x and ``anthropic`` 2.x). Its patch sits below any mock the user starts (respx, either mocker
order; pytest-httpx and ``httpx.MockTransport`` never reach the pool at all), so llmtape sees
only what would otherwise reach the network. Live calls go through the very pool the caller's
client built: its proxy, CA, client certificate, HTTP/2 and limits apply as without llmtape.
"""

from __future__ import annotations

import importlib.util
import inspect
import threading
from abc import ABC
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import httpcore
import httpx
from respx.mocks import HTTPCoreMocker, Mocker

from llmtape import carry, escapes, intercept_aiohttp, intercept_botocore
from llmtape.config import place
from llmtape.context import active
from llmtape.live import LIVE
from llmtape.tape import Tape


class _CoreStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A connection pool's response body, as an httpx stream (raw bytes: httpx decodes them)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self._stream:
            yield piece

    def close(self) -> None:
        if hasattr(self._stream, "close"):
            self._stream.close()

    async def aclose(self) -> None:
        if hasattr(self._stream, "aclose"):
            await self._stream.aclose()


def _as_httpx(response: Any, request: httpx.Request) -> httpx.Response:
    """A connection pool's response (httpcore or httpcore2) as an unread httpx response."""
    return httpx.Response(
        response.status,
        headers=response.headers,
        stream=_CoreStream(response.stream),
        extensions=response.extensions,
        request=request,
    )


def _mark_live(request: Any) -> None:
    # A new dict: the client shares the old one with the request it builds to follow a redirect.
    request.extensions = {**request.extensions, LIVE: True}


def _retargeted(request: Any, live: httpx.Request, outgoing: httpx.Request) -> Any:
    """The pool's request to send for ``live``: the request itself, or, when ``live`` carries other ids
    than the caller sent (``carry``), a copy with its URL target and body."""
    if live is outgoing:
        return request
    url = request.url
    return type(request)(
        request.method,
        type(url)(scheme=url.scheme, host=url.host, port=url.port, target=live.url.raw_path),
        headers=request.headers,
        content=live.content,
        extensions=request.extensions,
    )


class _Interceptor(HTTPCoreMocker, ABC):
    """Patches one pool library's ``handle_request`` methods (as an ABC, respx does not register it)."""

    response_class: ClassVar[Any] = httpcore.Response
    timeout_error: ClassVar[Callable[[str], Exception]] = httpcore.ReadTimeout  # the pool's own

    @classmethod
    def mock(cls, spec: Callable[..., Any]) -> Callable[..., Any]:
        if spec.__name__ not in cls.target_methods:
            return spec
        if inspect.iscoroutinefunction(spec):
            return cls._async_mock(spec)
        return cls._sync_mock(spec)

    @classmethod
    def _sync_mock(cls, spec: Callable[..., Any]) -> Callable[..., Any]:
        def handle_request(pool: Any, request: Any) -> Any:
            tape = active()
            outgoing = None if tape is None else cls._wanted(tape, request)
            if tape is None or outgoing is None:
                return spec(pool, request)
            outgoing.read()
            request.stream = outgoing.stream  # the body, readable again for the live call

            def send(live: httpx.Request) -> httpx.Response:
                _mark_live(request)
                return _as_httpx(spec(pool, _retargeted(request, live, outgoing)), outgoing)

            answer = carry.handle(tape, outgoing, send, cls.timeout_error)
            if answer is None:
                _mark_live(request)
                return spec(pool, request)
            return cls.from_sync_httpx_response(answer, pool)

        return handle_request

    @classmethod
    def _async_mock(cls, spec: Callable[..., Any]) -> Callable[..., Any]:
        async def handle_async_request(pool: Any, request: Any) -> Any:
            tape = active()
            outgoing = None if tape is None else cls._wanted(tape, request)
            if tape is None or outgoing is None:
                return await spec(pool, request)
            await outgoing.aread()
            request.stream = outgoing.stream

            async def send(live: httpx.Request) -> httpx.Response:
                _mark_live(request)
                return _as_httpx(await spec(pool, _retargeted(request, live, outgoing)), outgoing)

            answer = await carry.ahandle(tape, outgoing, send, cls.timeout_error)
            if answer is None:
                _mark_live(request)
                return await spec(pool, request)
            return cls.from_sync_httpx_response(answer, pool)

        return handle_async_request

    @classmethod
    def _wanted(cls, tape: Tape, request: Any) -> httpx.Request | None:
        """The request as httpx sees it, if it is an LLM call that ``tape`` handles (its body unread)."""
        if request.extensions.get(LIVE):
            return None
        outgoing = cls.to_httpx_request(request=request)
        url = outgoing.url
        host = place(url.scheme, url.host, url.port)
        return outgoing if tape.options.intercepts(outgoing.method, url.path, host) else None

    @classmethod
    def to_httpx_request(cls, **kwargs: Any) -> httpx.Request:
        """The pool's request as httpx sees it; one whose target is a whole URL (the absolute form, which
        a client sets through the ``target`` extension, as aiobotocore's httpx session does) keeps it."""
        request = kwargs["request"]
        target = bytes(request.url.target)
        if not target.lower().startswith((b"http://", b"https://")):
            return super().to_httpx_request(**kwargs)  # type: ignore[no-any-return,no-untyped-call]
        method = request.method.decode("ascii") if isinstance(request.method, bytes) else request.method
        return httpx.Request(
            method,
            target.decode("ascii"),
            headers=request.headers,
            stream=request.stream,
            extensions=request.extensions,
        )

    @classmethod
    def from_sync_httpx_response(cls, httpx_response: Any, target: Any, **kwargs: Any) -> Any:
        return cls.response_class(
            status=httpx_response.status_code,
            headers=httpx_response.headers.raw,
            content=httpx_response.stream,
            extensions=httpx_response.extensions,
        )


class HttpcoreInterceptor(_Interceptor):
    name = "llmtape-httpcore"
    targets: ClassVar[list[str]] = list(HTTPCoreMocker.targets)


def _httpcore2_interceptor() -> type[_Interceptor] | None:
    if importlib.util.find_spec("httpcore2") is None:
        return None
    import httpcore2

    class Httpcore2Interceptor(_Interceptor):
        name = "llmtape-httpcore2"
        targets: ClassVar[list[str]] = [
            t.replace("httpcore.", "httpcore2.", 1) for t in HTTPCoreMocker.targets
        ]
        response_class: ClassVar[Any] = httpcore2.Response
        timeout_error: ClassVar[Callable[[str], Exception]] = httpcore2.ReadTimeout

    return Httpcore2Interceptor


INTERCEPTORS: list[type[_Interceptor]] = [HttpcoreInterceptor, *filter(None, [_httpcore2_interceptor()])]
# The user's respx mockers of the same libraries, whose patches must stay above llmtape's.
_USER_MOCKERS = {"llmtape-httpcore": "httpcore", "llmtape-httpcore2": "httpcore2"}

_users = 0
_mutex = threading.Lock()


@contextmanager
def _user_mocks_on_top(interceptor: type[_Interceptor]) -> Iterator[None]:
    """Patches stack: lift the user's started respx mocks off while llmtape's patch changes, then put
    them back on top, so they still answer first."""
    user = Mocker.registry.get(_USER_MOCKERS[interceptor.name])
    started = user is not None and bool(user.routers)
    if user is not None and started:
        user.stop(force=True)
    try:
        yield
    finally:
        if user is not None and started:
            user.start()


def install() -> None:
    """Patch the pools (the first of nested callers does it); respx mocks already started stay on top."""
    global _users
    with _mutex:
        _users += 1
        if _users > 1:
            return
        for interceptor in INTERCEPTORS:
            with _user_mocks_on_top(interceptor):
                interceptor.start()
        if intercept_aiohttp.available():
            intercept_aiohttp.install()
        intercept_botocore.install()
        escapes.install()


def uninstall() -> None:
    """Undo :func:`install` once its last caller is done."""
    global _users
    with _mutex:
        _users -= 1
        if _users == 0:
            for interceptor in INTERCEPTORS:
                with _user_mocks_on_top(interceptor):
                    interceptor.stop(force=True)
            escapes.uninstall()
