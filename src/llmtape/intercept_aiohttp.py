"""Interception of ``aiohttp.ClientSession``: google-genai's async client, litellm's async transport,
openai's ``DefaultAioHttpClient`` and every httpx transport built on aiohttp (``httpx-aiohttp``).

aiohttp's extension point for this is the client middleware (aiohttp 3.12+): once llmtape is installed
(when the pytest plugin loads, or a tape first starts), every new session gets llmtape's middleware last,
nearest the network, so the user's own middlewares still run first; with no tape active it passes
every request on untouched, so it stays installed. An LLM call of an active tape is carried like any
other (``carry.ahandle``); a live call goes out through the session's own connector. aiohttp has no
public way to build a response that did not come off a connection, so :func:`_client_response` fills
one in as ``start()`` would (the one place that touches aiohttp's internals; aioresponses 0.7.9 does
the same and fails on aiohttp 3.14, whose constructor changed).
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import httpx

from llmtape import carry
from llmtape.config import place
from llmtape.context import active
from llmtape.replay import PiecesStream

# What aiohttp decodes before the application sees the body: the stored headers must not claim it again.
_DECODED_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})

_pumps: set[asyncio.Task[None]] = set()  # keeps each stream's feeding task alive until it ends
_original_init: Callable[..., None] | None = None


def available() -> bool:
    """True when aiohttp is installed in a version with client middlewares."""
    if importlib.util.find_spec("aiohttp") is None:
        return False
    import aiohttp

    return "middlewares" in inspect.signature(aiohttp.ClientSession.__init__).parameters


def install() -> None:
    """Give every session created from now on llmtape's middleware, innermost."""
    global _original_init
    import aiohttp

    if _original_init is not None:
        return
    original = _original_init = aiohttp.ClientSession.__init__

    @functools.wraps(original)
    def __init__(self: aiohttp.ClientSession, *args: Any, middlewares: Any = (), **kwargs: Any) -> None:
        original(self, *args, middlewares=(*middlewares, _middleware), **kwargs)

    aiohttp.ClientSession.__init__ = __init__  # type: ignore[method-assign]


async def _middleware(request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
    tape = active()
    if tape is None:
        return await handler(request)
    url = request.url
    host = place(url.scheme, str(url.host), url.explicit_port)
    if not tape.options.intercepts(request.method, url.path, host):
        return await handler(request)
    body = request.body
    content = await body.as_bytes() if body else b""
    headers = list(request.headers.items())
    if getattr(request, "compress", None):  # aiohttp compresses the body as it writes it: it is plain here
        headers = [(k, v) for k, v in headers if k.lower() != "content-encoding"]
    outgoing = httpx.Request(request.method, str(url), headers=headers, content=content)

    async def send(live: httpx.Request) -> httpx.Response:
        if live is not outgoing:  # the real ids of the stable ones it carries (carry)
            request.url, request.body = type(request.url)(str(live.url), encoded=True), live.content
        return _as_httpx(await handler(request), outgoing)

    answer = await carry.ahandle(tape, outgoing, send)
    if answer is None:
        return await handler(request)
    return _client_response(request, answer)


def _as_httpx(live: Any, request: httpx.Request) -> httpx.Response:
    """A live aiohttp response as an unread httpx response over its (already decoded) body."""
    headers = [(k, v) for k, v in live.raw_headers if k.decode("latin-1").lower() not in _DECODED_HEADERS]
    return httpx.Response(live.status, headers=headers, stream=_LiveBody(live), request=request)


class _LiveBody(httpx.AsyncByteStream):
    def __init__(self, live: Any) -> None:
        self._live = live

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self._live.content.iter_any():
            yield piece

    async def aclose(self) -> None:
        self._live.release()


def _client_response(request: Any, answer: httpx.Response) -> Any:
    """``answer`` as the aiohttp response the session returns, its body fed as the answer yields it."""
    import aiohttp
    from multidict import CIMultiDict, CIMultiDictProxy

    loop = asyncio.get_running_loop()
    response_class = _draining(request.response_class)
    response = response_class(request.method, request.original_url, **_response_arguments(request))
    raw = [(k, v) for k, v in answer.headers.raw if k.decode("latin-1").lower() not in _DECODED_HEADERS]
    headers = [(k.decode("latin-1"), v.decode("utf-8", "surrogateescape")) for k, v in raw]
    response.version = aiohttp.HttpVersion11
    response.status, response.reason = answer.status_code, answer.reason_phrase
    response._headers = CIMultiDictProxy(CIMultiDict(headers))
    response._raw_headers = tuple(raw)
    response._raw_cookie_headers = tuple(v for k, v in headers if k.lower() == "set-cookie") or None
    reader = aiohttp.StreamReader(cast(Any, _Feed()), 2**16, loop=loop)
    response.content = reader
    task = loop.create_task(_pump(answer, reader))
    _pumps.add(task)
    task.add_done_callback(_pumps.discard)
    if isinstance(answer.stream, PiecesStream):
        response.llmtape_replay = task  # a replay (paced, perhaps) stops when the caller lets go of it
    else:
        response.llmtape_pump = task  # a live stream is read to its end, and saved, before the close
    return response


@functools.cache
def _draining(base: type[Any]) -> type[Any]:
    """``base`` (the session's response class) whose ``wait_for_close``, awaited when the caller leaves
    ``async with``, first lets the answer finish: a live stream left unread is read to its end and saved
    while the session is still open, as an httpx caller's close does."""

    class Draining(base):  # type: ignore[misc]
        llmtape_pump: asyncio.Task[None] | None = None
        llmtape_replay: asyncio.Task[None] | None = None

        async def wait_for_close(self) -> None:
            if self.llmtape_pump is not None:
                await asyncio.shield(self.llmtape_pump)
            self._stop_replay()
            await super().wait_for_close()

        def close(self) -> None:
            self._stop_replay()
            super().close()

        def release(self) -> Any:
            self._stop_replay()
            return super().release()

        def _stop_replay(self) -> None:
            if self.llmtape_replay is not None and not self.llmtape_replay.done():
                self.llmtape_replay.cancel()

    Draining.__name__ = Draining.__qualname__ = base.__name__
    return Draining


def _response_arguments(request: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "writer": None,
        "continue100": None,
        "timer": None,
        "request_info": request.request_info,
        "traces": [],
        "loop": asyncio.get_running_loop(),
        "session": None,
    }
    if _takes_stream_writer(request.response_class):
        arguments["stream_writer"] = _SentRequest()
    return arguments


@functools.cache
def _takes_stream_writer(response_class: type[Any]) -> bool:
    """Whether this aiohttp's responses take the request's writer (3.14 does, earlier versions do not)."""
    return "stream_writer" in inspect.signature(response_class.__init__).parameters


class _Feed:
    """The protocol a stream reader asks for flow control: the body comes from llmtape, never paused."""

    connected = True
    _reading_paused = False

    def pause_reading(self, *args: Any, **kwargs: Any) -> None:
        pass

    def resume_reading(self, *args: Any, **kwargs: Any) -> None:
        pass


class _SentRequest:
    """What a response asks of the writer of a request already sent."""

    output_size = 0


async def _pump(answer: httpx.Response, reader: Any) -> None:
    import aiohttp

    try:
        if answer.is_stream_consumed:  # a whole body, read already
            reader.feed_data(answer.content)
        else:
            async for piece in answer.aiter_raw():
                reader.feed_data(piece)
    except Exception as error:
        # A reader raises its error at once, dropping what it holds: let the caller read every event that
        # came before the break first, so that it sees the same events while recording and on replay.
        while getattr(reader, "_size", 0) and reader.exception() is None:
            await asyncio.sleep(0.001)
        reader.set_exception(aiohttp.ClientPayloadError(str(error)))
    else:
        reader.feed_eof()
    finally:
        await answer.aclose()
