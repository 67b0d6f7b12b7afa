"""Interception of ``aiohttp.ClientSession``: google-genai's async client, litellm's async transport,
openai's ``DefaultAioHttpClient`` and every httpx transport built on aiohttp (``httpx-aiohttp``).

aiohttp's extension point for this is the client middleware (aiohttp 3.12+): while llmtape is installed,
every new session gets llmtape's middleware last, nearest the network, so the user's own middlewares
still run first. An LLM call of an active tape is carried like any other (``carry.ahandle``); a live
call goes out through the session's own connector. aiohttp has no public way to build a response
that did not come off a connection, so :func:`_client_response` fills one in as ``start()`` would
(the one place that touches aiohttp's internals; aioresponses 0.7.9 does the same and fails on
aiohttp 3.14, whose constructor changed).
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
from llmtape.context import active

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


def uninstall() -> None:
    """New sessions are plain again; those created meanwhile pass through once no tape is active."""
    global _original_init
    import aiohttp

    if _original_init is not None:
        aiohttp.ClientSession.__init__ = _original_init  # type: ignore[method-assign]
        _original_init = None


async def _middleware(request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
    tape = active()
    if tape is None:
        return await handler(request)
    url = request.url
    host = f"{url.host}:{url.explicit_port}" if url.explicit_port else str(url.host)
    if not tape.options.intercepts(request.method, url.path, host):
        return await handler(request)
    body = request.body
    content = await body.as_bytes() if body else b""
    outgoing = httpx.Request(request.method, str(url), headers=list(request.headers.items()), content=content)

    async def send() -> httpx.Response:
        return _as_httpx(await handler(request), outgoing)

    answer = await carry.ahandle(tape, outgoing, send)
    if answer is None:
        return await handler(request)
    return _client_response(request, answer)


def _as_httpx(live: Any, request: httpx.Request) -> httpx.Response:
    """A live aiohttp response as an unread httpx response over its (already decoded) body."""
    headers = [(k, v) for k, v in live.headers.items() if k.lower() not in _DECODED_HEADERS]
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
    response = request.response_class(request.method, request.original_url, **_response_arguments(request))
    headers = [(k, v) for k, v in answer.headers.multi_items() if k.lower() not in _DECODED_HEADERS]
    response.version = aiohttp.HttpVersion11
    response.status, response.reason = answer.status_code, answer.reason_phrase
    response._headers = CIMultiDictProxy(CIMultiDict(headers))
    response._raw_headers = tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers)
    response._raw_cookie_headers = tuple(v for k, v in headers if k.lower() == "set-cookie") or None
    reader = aiohttp.StreamReader(cast(Any, _Feed()), 2**16, loop=loop)
    response.content = reader
    task = loop.create_task(_pump(answer, reader))
    _pumps.add(task)
    task.add_done_callback(_pumps.discard)
    return response


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
    if "stream_writer" in inspect.signature(request.response_class.__init__).parameters:
        arguments["stream_writer"] = _SentRequest()
    return arguments


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
        while getattr(reader, "_size", 0) and not reader.at_eof():
            await asyncio.sleep(0.001)
        reader.set_exception(aiohttp.ClientPayloadError(str(error)))
    else:
        reader.feed_eof()
    finally:
        await answer.aclose()
