"""Turning a stored response back into an HTTP response the client parses unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from llmtape.recording import body_bytes, stream_bytes

# Statuses and headers of the answers llmtape gives in place of a live API.
MISSING_STATUS = 404
FAILED_STATUS = 500
NO_RETRY = {"x-should-retry": "false"}


class PiecesStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body served piece by piece, to sync and async clients alike."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self._pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces:
            yield piece


def to_http(response: dict[str, Any]) -> httpx.Response:
    """The HTTP response for a stored ``response`` object: status, headers, body or stream."""
    status, headers = response["status"], response.get("headers") or {}
    if response.get("is_streaming"):
        return httpx.Response(status, headers=headers, stream=PiecesStream(stream_bytes(response)))
    return httpx.Response(status, headers=headers, content=body_bytes(response))


def error_response(status: int, kind: str, message: str) -> httpx.Response:
    """An error in the shape OpenAI and Anthropic clients both read, marked not to be retried."""
    body = {"type": "error", "error": {"type": kind, "code": kind, "message": message}}
    return httpx.Response(status, headers={**NO_RETRY, "x-llmtape": kind}, json=body)
