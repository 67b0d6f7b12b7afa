"""The live side of record mode: the answer of the caller's own transport, stored as it passes.

A plain answer is read, stored and handed over as replay will hand it over later; one that is not text
(audio, an image, a file's content) is stored beside the recording (``sidecar``). A stream
reaches the caller event by event as it arrives, each event encoded as replay encodes it; it
is stored once the server has sent all of it, whether the caller read it all or not: what the
caller leaves unread is read when it closes the stream, or at the end of the test at the latest.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, Protocol

import httpx

from llmtape.format import eventstream
from llmtape.format.chunks import (
    DONE,
    chunk_bytes,
    line_bytes,
    message_bytes,
    message_chunk,
    payload_bytes,
    plain_body,
    typed,
    typed_chunk,
)
from llmtape.format.jsonarray import (
    ARRAY_STREAM_SUFFIXES,
    ArrayDecoder,
    MalformedArray,
    closing_piece,
    element_piece,
)
from llmtape.format.ndjson import LineDecoder
from llmtape.format.recording import (
    EVENTSTREAM,
    JSON_ARRAY,
    NDJSON,
    RESPONSE_HEADERS,
    Chunk,
    StoredResponse,
    Timing,
    framing,
    keep_headers,
)
from llmtape.format.sse import Decoder, Event, encode
from llmtape.format.typemap import BYTES_TYPE, FILE_TYPE, TEXT_TYPE
from llmtape.replay import to_http
from llmtape.stable_ids import Answer

UNTYPED = frozenset({TEXT_TYPE, BYTES_TYPE, FILE_TYPE})  # bodies that hold no JSON, hence no ids
# Set on a request llmtape sends live, so the pools' own connections do not intercept it again.
LIVE = "llmtape.live"
# How long the end of a test waits for the rest of an async stream its application left unread.
DRAIN_SECONDS = 60.0


class Save(Protocol):
    """Stores a finished response (and the bytes of the sidecar files it names); or, told the stream
    cannot be finished, stores nothing. It keeps the clock of the call and the stable ids of its answer."""

    ids: Answer | None  # what turns the answer's made-up ids into stable ones; None keeps them

    def __call__(self, response: StoredResponse, files: Mapping[str, bytes] | None = None) -> None: ...

    def abandon(self, reason: str) -> None: ...

    def ms(self) -> int | None: ...

    def timing(self) -> Timing | None: ...


class _Decoder(Protocol):
    def feed(self, piece: bytes) -> list[Any]: ...

    def close(self) -> list[Any]: ...


def is_stream(response: httpx.Response) -> bool:
    """True for a server-sent-events, NDJSON or streamed JSON array response, recorded event by event."""
    content_type: str = response.headers.get("content-type", "")
    if content_type.startswith("text/event-stream") or framing(response.headers) in (NDJSON, EVENTSTREAM):
        return True
    # Gemini streams without alt=sse as one JSON array, element by element; its errors are one document.
    return (
        response.status_code < 400
        and framing(response.headers) == JSON_ARRAY
        and response.request.url.path.endswith(ARRAY_STREAM_SUFFIXES)
    )


def _stored(live: httpx.Response, streaming: bool, body: Any, ids: Answer | None = None) -> StoredResponse:
    headers = keep_headers(live.headers, RESPONSE_HEADERS)
    return {
        "status": live.status_code,
        "headers": headers if ids is None else ids.headers(headers),
        "is_streaming": streaming,
        "body": body,
    }


def plain_response(
    live: httpx.Response, content: bytes, ids: Answer | None = None
) -> tuple[StoredResponse, dict[str, bytes]]:
    """The stored form of a whole (non-streamed) response, and its sidecar file when it is not text; with
    ``ids``, the made-up ids of a JSON answer replaced by stable ones."""
    body, files = plain_body(content, live.headers.get("content-type", ""), live.request.url.path)
    if ids is not None and body is not None and body["__type__"] not in UNTYPED:
        body = {**body, "__data__": ids.data(body["__data__"])}
    return _stored(live, False, body, ids), files


def _captured(live: httpx.Response, content: bytes, save: Save) -> httpx.Response:
    response, files = plain_response(live, content, save.ids)
    timing = save.timing()
    if timing is not None:
        response["timing"] = timing
    save(response, files)
    return to_http(response, files=files)


def capture(live: httpx.Response, save: Save) -> httpx.Response:
    """Read a plain live answer, store it, and return it as replay will."""
    try:
        content = live.read()
    finally:
        live.close()
    return _captured(live, content, save)


async def acapture(live: httpx.Response, save: Save) -> httpx.Response:
    """The async form of :func:`capture`."""
    try:
        content = await live.aread()
    finally:
        await live.aclose()
    return _captured(live, content, save)


def streamed(live: httpx.Response, tee: SyncTee | AsyncTee) -> httpx.Response:
    """The response the caller gets for a live stream: the headers replay will give, the tee's bytes."""
    return httpx.Response(live.status_code, headers=tee.headers, stream=tee)


class StreamRecorder:
    """Collects the events (NDJSON lines, JSON array elements) of a live stream and re-encodes each for
    the caller."""

    def __init__(self, live: httpx.Response, save: Save) -> None:
        self.response = _stored(live, True, [], save.ids)
        self._endpoint = live.request.url.path
        self._framing = framing(live.headers)
        self._decoder, self._take = self._framed(self._framing)
        self._save = save
        self.done = False

    def _framed(self, kind: str) -> tuple[_Decoder, Callable[[Any], bytes]]:
        if kind == NDJSON:
            return LineDecoder(), self._take_line
        if kind == JSON_ARRAY:
            return ArrayDecoder(), self._take_element
        if kind == EVENTSTREAM:
            return eventstream.Decoder(), self._take_message
        self.response["sse_done"] = False
        return Decoder(), self._take_event

    def feed(self, piece: bytes) -> Iterator[bytes]:
        """The caller's bytes for the events this piece completed."""
        yield from map(self._take, self._decoded(piece))

    def finish(self) -> Iterator[bytes]:
        """The caller's bytes for a last unterminated event; then the recording is saved."""
        if self.done:
            return
        yield from map(self._take, self._decoded(None))
        if self._framing == JSON_ARRAY:
            yield closing_piece(len(self.response["body"]))
        self._save_once()

    def _decoded(self, piece: bytes | None) -> list[Any]:
        """What the decoder completed with this piece (None: at the end); a JSON array that breaks its
        framing is kept as far as it came, marked incomplete, and fails the caller as replay will."""
        try:
            return self._decoder.feed(piece) if piece is not None else self._decoder.close()
        except (MalformedArray, eventstream.MalformedFrames) as error:
            self.broke(error)
            raise httpx.RemoteProtocolError(f"llmtape: the live stream broke off: {error}") from error

    def broke(self, error: Exception) -> None:
        """The live stream failed midway: keep what arrived, marked incomplete, so replay fails alike; a
        read that timed out on the client's side says nothing of the server, and keeps nothing."""
        if _timed_out(error):
            timeout = type(error).__name__
            self.abandon(f"the client's read timed out ({timeout}); record it with a longer timeout")
            return
        if not self.done:
            self.response["incomplete"] = {"error": type(error).__name__, "message": str(error)}
            self._save_once()

    def abandon(self, reason: str) -> None:
        """The rest of the stream can no longer be read: nothing is saved."""
        if not self.done:
            self.done = True
            self._save.abandon(reason)

    def _save_once(self) -> None:
        if not self.done:
            self.done = True
            timing = self._save.timing()
            if timing is not None:
                self.response["timing"] = timing
            self._save(self.response)

    def _kept(self, chunk: Chunk) -> Chunk:
        """A chunk as stored and passed on: its ids made stable, the time it arrived noted."""
        ids, ms = self._save.ids, self._save.ms()
        if ids is not None and chunk["__type__"] not in UNTYPED:
            chunk["__data__"] = ids.data(chunk["__data__"])
        if ms is not None:
            chunk["__ms__"] = ms
        self.response["body"].append(chunk)
        return chunk

    def _take_line(self, line: str) -> bytes:
        return line_bytes(self._kept(typed(line, self._endpoint)))

    def _take_message(self, message: tuple[eventstream.Headers, bytes]) -> bytes:
        return message_bytes(self._kept(message_chunk(*message, self._endpoint)))

    def _take_element(self, element: str) -> bytes:
        chunk = self._kept(typed(element, self._endpoint))
        return element_piece(len(self.response["body"]) - 1, payload_bytes(chunk))

    def _take_event(self, event: Event) -> bytes:
        if event == Event(DONE):
            # Clients stop reading at [DONE], so the stream is complete and saved here.
            self.response["sse_done"] = True
            self._save_once()
            return encode(event)
        chunk = self._kept(typed_chunk(event, self._endpoint))
        if event.data == DONE and event.event is None:  # a [DONE] with an id or a retry: kept as a chunk
            self._save_once()
        return chunk_bytes(chunk)


def _timed_out(error: BaseException) -> bool:
    """A timeout of the client's own (httpx's, httpcore's or their 2.x twins' ``ReadTimeout``...)."""
    return isinstance(error, TimeoutError) or any(
        kind.__name__ in ("TimeoutException", "ReadTimeout") for kind in type(error).__mro__
    )


def _drain(recorder: StreamRecorder, pieces: Iterator[bytes]) -> None:
    try:
        for piece in pieces:
            deque(recorder.feed(piece), maxlen=0)
        deque(recorder.finish(), maxlen=0)
    except Exception as error:
        recorder.broke(error)
    except BaseException:  # cancelled or interrupted while reading the rest: store nothing, let go
        recorder.abandon("the rest of the stream was being read when the call was cancelled")
        raise


class SyncTee(httpx.SyncByteStream):
    """A live stream on its way to a sync caller, recorded as it passes."""

    def __init__(self, live: httpx.Response, save: Save) -> None:
        self._live, self._pieces = live, live.iter_bytes()
        self._recorder = StreamRecorder(live, save)
        self.headers = self._recorder.response["headers"]
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for piece in self._pieces:
                yield from self._recorder.feed(piece)
        except Exception as error:
            self._recorder.broke(error)
            raise
        yield from self._recorder.finish()

    def finish(self) -> None:
        """Read what the caller left unread, save the recording, close the live response."""
        if self._closed:
            return
        self._closed = True
        try:
            if not self._recorder.done:
                _drain(self._recorder, self._pieces)
        finally:
            self._live.close()

    def close(self) -> None:
        self.finish()


class AsyncTee(httpx.AsyncByteStream):
    """A live stream on its way to an async caller, recorded as it passes."""

    def __init__(self, live: httpx.Response, save: Save) -> None:
        self._live, self._pieces = live, live.aiter_bytes()
        self._recorder = StreamRecorder(live, save)
        self.headers = self._recorder.response["headers"]
        self._loop = _running_loop()  # None under trio: then only the caller's close finishes it
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while (piece := await self._next()) is not None:
                for out in self._recorder.feed(piece):
                    yield out
            for out in self._recorder.finish():
                yield out
        finally:
            # Also reached when the loop shuts down with this stream unread (asyncio.run does that).
            await self.aclose()

    async def _next(self) -> bytes | None:
        try:
            return await anext(self._pieces, None)
        except Exception as error:
            self._recorder.broke(error)
            raise

    async def aclose(self) -> None:
        """Read what the caller left unread, save the recording, close the live response."""
        if self._closed:
            return
        self._closed = True
        try:
            if not self._recorder.done:
                try:
                    while (piece := await anext(self._pieces, None)) is not None:
                        deque(self._recorder.feed(piece), maxlen=0)
                    deque(self._recorder.finish(), maxlen=0)
                except Exception as error:
                    self._recorder.broke(error)
                except BaseException:
                    self._recorder.abandon(
                        "the rest of the stream was being read when the call was cancelled"
                    )
                    raise
        finally:
            await self._live.aclose()

    def finish(self) -> None:
        """From outside the event loop, at the end of a test: finish on the stream's own loop."""
        if self._closed:
            return
        loop = self._loop
        try:
            if loop is None:
                raise RuntimeError("it runs on an event loop llmtape cannot drive (not asyncio)")
            if loop.is_closed():
                raise RuntimeError("its event loop was closed")
            if not loop.is_running():
                loop.run_until_complete(asyncio.wait_for(self.aclose(), DRAIN_SECONDS))
            elif _running_loop() is loop:
                raise RuntimeError("its event loop is busy running this very code")
            else:
                asyncio.run_coroutine_threadsafe(self.aclose(), loop).result(DRAIN_SECONDS)
        except Exception as error:
            self._closed = True
            self._recorder.abandon(
                f"the application left this stream unread and llmtape could not read the rest ({error}); "
                "read the stream to its end or close it before the test ends"
            )


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
