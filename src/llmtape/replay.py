"""Turning a stored response back into an HTTP response the client parses unchanged."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping
from functools import partial
from pathlib import Path

import httpx

from llmtape.errors import shown
from llmtape.format import sidecar
from llmtape.format.chunks import body_bytes, stream_bytes
from llmtape.format.recording import Incomplete, StoredResponse
from llmtape.timing import Pace

# Statuses and headers of the answers llmtape gives in place of a live API.
MISSING_STATUS = 404
FAILED_STATUS = 500
NO_RETRY = {"x-should-retry": "false"}


class PiecesStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body served piece by piece, to sync and async clients alike, each piece when it is due
    when replay is paced; a recorded stream that broke off midway breaks off again after its
    last piece."""

    def __init__(self, pieces: list[bytes], failure: str | None = None, pace: Pace | None = None) -> None:
        self._pieces = pieces
        self._failure = failure
        self._pace = pace
        self._due: list[float] = []

    def paced(self, response: StoredResponse) -> PiecesStream:
        if self._pace is not None:
            self._due = self._pace.due(response, len(self._pieces))
        return self

    def __iter__(self) -> Iterator[bytes]:
        if not self._due:
            yield from self._pieces
        else:
            assert self._pace is not None
            start = time.monotonic()
            for piece, due in zip(self._pieces, self._due, strict=True):
                self._pace.wait(start + due - time.monotonic())
                yield piece
        self._fail()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        start = time.monotonic()
        for index, piece in enumerate(self._pieces):
            if self._due and self._pace is not None:
                await self._pace.await_(start + self._due[index] - time.monotonic())
            yield piece
        self._fail()

    def _fail(self) -> None:
        if self._failure is not None:
            raise httpx.RemoteProtocolError(self._failure)


def to_http(
    response: StoredResponse,
    source: Path | str = "",
    files: Mapping[str, bytes] | None = None,
    pace: Pace | None = None,
) -> httpx.Response:
    """The HTTP response for a stored ``response`` object (from the file ``source``, whose sidecars are
    read and checked, unless their bytes are given in ``files``); a stream's pieces come at ``pace``."""
    status, headers = response["status"], response["headers"]
    if response["is_streaming"]:
        failure = _failure(response.get("incomplete"), source)
        stream = PiecesStream(stream_bytes(response), failure, pace).paced(response)
        return httpx.Response(status, headers=headers, stream=stream)
    load = files.__getitem__ if files is not None else partial(sidecar.load, source)
    return httpx.Response(status, headers=headers, content=body_bytes(response, load))


def _failure(incomplete: Incomplete | None, source: Path | str) -> str | None:
    if not incomplete:
        return None
    return (
        f"llmtape: the recorded stream broke off here, as the live one did "
        f"({incomplete.get('error')}: {incomplete.get('message')}); file: {shown(source)}; "
        "record it again with --llmtape-mode=rewrite for a whole stream"
    )


def error_response(status: int, kind: str, message: str) -> httpx.Response:
    """An error in the shape OpenAI and Anthropic clients both read, marked not to be retried."""
    body = {"type": "error", "error": {"type": kind, "code": kind, "message": message}}
    return httpx.Response(status, headers={**NO_RETRY, "x-llmtape": kind}, json=body)
