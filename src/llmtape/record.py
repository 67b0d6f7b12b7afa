"""Live calls: record mode hands the caller exactly what replay will return; live mode forwards.

A streamed response reaches the caller event by event as it arrives, each event encoded
as replay encodes it; the recording is saved when the stream ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

import httpx

from llmtape.intercept import live_extensions
from llmtape.ndjson import LineDecoder
from llmtape.recording import (
    DONE,
    RESPONSE_HEADERS,
    chunk_bytes,
    is_ndjson,
    keep_headers,
    line_bytes,
    typed,
    typed_chunk,
)
from llmtape.replay import to_http
from llmtape.sse import Decoder, Event, encode


class Save(Protocol):
    """Receives the finished response to store; told when a stream is dropped unfinished."""

    def __call__(self, response: dict[str, Any]) -> None: ...

    def abandon(self) -> None: ...


def live_request(request: httpx.Request) -> httpx.Request:
    """A copy of an intercepted request that goes to the network."""
    return httpx.Request(
        request.method,
        request.url,
        headers=request.headers,
        content=request.content,
        extensions=live_extensions(request),
    )


def is_stream(response: httpx.Response) -> bool:
    """True for a server-sent-events or NDJSON response, which is recorded event by event."""
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith("text/event-stream") or is_ndjson(response.headers)


def plain_response(live: httpx.Response, content: bytes) -> dict[str, Any]:
    """The stored form of a whole (non-streamed) response."""
    text = content.decode("utf-8", errors="replace")
    return {
        "status": live.status_code,
        "headers": keep_headers(live.headers, RESPONSE_HEADERS),
        "is_streaming": False,
        "body": typed(text, live.request.url.path) if text else None,
    }


class StreamRecorder:
    """Collects the events (or NDJSON lines) of a live stream and re-encodes each for the caller."""

    def __init__(self, live: httpx.Response, save: Save) -> None:
        self.response: dict[str, Any] = {
            "status": live.status_code,
            "headers": keep_headers(live.headers, RESPONSE_HEADERS),
            "is_streaming": True,
            "body": [],
        }
        self._endpoint = live.request.url.path
        self._lines = LineDecoder() if is_ndjson(live.headers) else None
        if self._lines is None:
            self.response["sse_done"] = False
        self._events = Decoder()
        self._save = save
        self._saved = False

    def feed(self, piece: bytes) -> Iterator[bytes]:
        """The caller's bytes for the events this piece completed."""
        if self._lines is not None:
            yield from map(self._take_line, self._lines.feed(piece))
        else:
            yield from map(self._take, self._events.feed(piece))

    def finish(self) -> Iterator[bytes]:
        """The caller's bytes for a last unterminated event; then the recording is saved."""
        if self._lines is not None:
            yield from map(self._take_line, self._lines.close())
        else:
            yield from map(self._take, self._events.close())
        self._save_once()

    def broke(self, error: Exception) -> None:
        """The live stream failed midway: keep what arrived, marked incomplete, so replay fails alike."""
        self.response["incomplete"] = {"error": type(error).__name__, "message": str(error)}
        self._save_once()

    def abandon(self) -> None:
        """The caller closed the stream before its end: nothing is saved."""
        if not self._saved:
            self._saved = True
            self._save.abandon()

    def _save_once(self) -> None:
        if not self._saved:
            self._saved = True
            self._save(self.response)

    def _take_line(self, line: str) -> bytes:
        chunk = typed(line, self._endpoint)
        self.response["body"].append(chunk)
        return line_bytes(chunk)

    def _take(self, event: Event) -> bytes:
        if event.data == DONE and event.event is None:
            # Clients stop reading at [DONE], so the stream is complete and saved here.
            self.response["sse_done"] = True
            self._save_once()
            return encode(event)
        chunk = typed_chunk(event, self._endpoint)
        self.response["body"].append(chunk)
        return chunk_bytes(chunk)


class _SyncForward(httpx.SyncByteStream):
    def __init__(self, live: httpx.Response, client: httpx.Client) -> None:
        self._live, self._client = live, client

    def __iter__(self) -> Iterator[bytes]:
        yield from self._live.iter_raw()

    def close(self) -> None:
        self._live.close()
        self._client.close()


class _AsyncForward(httpx.AsyncByteStream):
    def __init__(self, live: httpx.Response, client: httpx.AsyncClient) -> None:
        self._live, self._client = live, client

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self._live.aiter_raw():
            yield piece

    async def aclose(self) -> None:
        await self._live.aclose()
        await self._client.aclose()


class _SyncTee(httpx.SyncByteStream):
    def __init__(self, live: httpx.Response, client: httpx.Client, save: Save) -> None:
        self._live, self._client, self._recorder = live, client, StreamRecorder(live, save)

    def __iter__(self) -> Iterator[bytes]:
        try:
            for piece in self._live.iter_bytes():
                yield from self._recorder.feed(piece)
        except httpx.TransportError as error:
            self._recorder.broke(error)
            raise
        yield from self._recorder.finish()

    def close(self) -> None:
        self._recorder.abandon()
        self._live.close()
        self._client.close()


class _AsyncTee(httpx.AsyncByteStream):
    def __init__(self, live: httpx.Response, client: httpx.AsyncClient, save: Save) -> None:
        self._live, self._client, self._recorder = live, client, StreamRecorder(live, save)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for piece in self._live.aiter_bytes():
                for out in self._recorder.feed(piece):
                    yield out
        except httpx.TransportError as error:
            self._recorder.broke(error)
            raise
        for out in self._recorder.finish():
            yield out

    async def aclose(self) -> None:
        self._recorder.abandon()
        await self._live.aclose()
        await self._client.aclose()


def _streamed(live: httpx.Response, stream: httpx.SyncByteStream | httpx.AsyncByteStream) -> httpx.Response:
    headers = keep_headers(live.headers, RESPONSE_HEADERS)
    return httpx.Response(live.status_code, headers=headers, stream=stream)


def record(request: httpx.Request, save: Save) -> httpx.Response:
    """Send ``request`` live; return the response replay will give, saving it via ``save``."""
    client = httpx.Client()
    live = client.send(live_request(request), stream=True)
    if is_stream(live):
        return _streamed(live, _SyncTee(live, client, save))
    try:
        response = plain_response(live, live.read())
    finally:
        live.close()
        client.close()
    save(response)
    return to_http(response)


async def arecord(request: httpx.Request, save: Save) -> httpx.Response:
    """The async form of :func:`record`."""
    client = httpx.AsyncClient()
    live = await client.send(live_request(request), stream=True)
    if is_stream(live):
        return _streamed(live, _AsyncTee(live, client, save))
    try:
        response = plain_response(live, await live.aread())
    finally:
        await live.aclose()
        await client.aclose()
    save(response)
    return to_http(response)


def forward(request: httpx.Request) -> httpx.Response:
    """Send ``request`` live and hand back the response untouched (live mode)."""
    client = httpx.Client()
    live = client.send(live_request(request), stream=True)
    return httpx.Response(live.status_code, headers=live.headers, stream=_SyncForward(live, client))


async def aforward(request: httpx.Request) -> httpx.Response:
    """The async form of :func:`forward`."""
    client = httpx.AsyncClient()
    live = await client.send(live_request(request), stream=True)
    return httpx.Response(live.status_code, headers=live.headers, stream=_AsyncForward(live, client))
