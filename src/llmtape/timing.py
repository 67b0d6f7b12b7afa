"""Time, recorded and replayed: when a live answer arrived, and replay at a chosen speed.

Record mode notes the milliseconds since the request was sent: ``response.timing`` holds
``headers_ms`` (the status and headers arrived) and ``done_ms`` (the whole answer had arrived), and each
chunk of a stream its ``__ms__`` (it arrived, as the caller read it). Recordings without these fields
(older ones, or made with ``llmtape_timing = false``) simply lack them.

Replay is instant unless a speed is set. At speed ``F`` every recorded wait is divided by ``F`` (``1`` is
real time, ``4`` four times faster): a plain answer is handed over after ``done_ms / F``; a stream's
headers after ``headers_ms / F`` and each chunk when it is due, ``(__ms__ - headers_ms) / F`` after the
headers (a chunk the caller asks for later comes at once). A wait longer than the request's read
timeout (httpx's ``timeout``) waits that timeout and then fails the read as the network would, so a
client's timeout handling is exercised deterministically.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from llmtape.format.recording import Recording, StoredResponse

TimeoutError_ = Callable[[str], Exception]
LONGEST_WAIT = 3600.0  # seconds: no recorded wait, however edited, stalls a replay longer


class Stopwatch:
    """Milliseconds since the request was sent."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def ms(self) -> int:
        return round((time.monotonic() - self._start) * 1000)


@dataclass(frozen=True, slots=True)
class Pace:
    """How one replayed answer is paced: its recorded waits divided by ``speed``, each checked against the
    request's read timeout (seconds; None when it has none)."""

    speed: float
    read_timeout: float | None
    timeout_error: TimeoutError_

    def before_headers(self, response: StoredResponse) -> float:
        """Seconds to wait before the status and headers are handed over."""
        timing = _timing(response)
        return self._seconds(timing.get("headers_ms" if response["is_streaming"] else "done_ms", 0))

    def due(self, response: StoredResponse, pieces: int) -> list[float]:
        """When each of a stream's ``pieces`` (the chunks, then any closing piece) is due, in seconds after
        the headers were handed over: a piece the caller asks for later than that comes at once, so the
        time the caller spends on each chunk overlaps the wait, as it does live."""
        timing = _timing(response)
        headers = timing.get("headers_ms", 0)
        chunks: list[Any] = response["body"]
        at = [chunk.get("__ms__") for chunk in chunks] + [timing.get("done_ms")] * (pieces - len(chunks))
        due, latest = [], 0.0
        for moment in at[:pieces]:
            if moment is not None:  # a chunk without a time is due with the one before it
                latest = max(latest, self._seconds(max(moment - headers, 0)))
            due.append(latest)
        return due

    def _seconds(self, ms: int) -> float:
        return min(ms / 1000 / self.speed, LONGEST_WAIT)

    def wait(self, seconds: float) -> None:
        """Wait (a sync client), or wait out the read timeout and fail."""
        if seconds <= 0:
            return
        time.sleep(min(seconds, self._limit(seconds)))
        self._check(seconds)

    async def await_(self, seconds: float) -> None:
        """Wait without blocking the event loop (asyncio or trio), or wait out the read timeout and fail."""
        if seconds <= 0:
            return
        await anyio.sleep(min(seconds, self._limit(seconds)))
        self._check(seconds)

    def _limit(self, seconds: float) -> float:
        return seconds if self.read_timeout is None else self.read_timeout

    def _check(self, seconds: float) -> None:
        if self.read_timeout is not None and seconds > self.read_timeout:
            raise self.timeout_error(
                f"llmtape: replayed at speed {self.speed:g}, the answer was due in {seconds:.3f} s, later "
                f"than the read timeout of {self.read_timeout:g} s (waited that long)"
            )


def _timing(response: StoredResponse) -> dict[str, int]:
    timing = response.get("timing")
    return {"headers_ms": timing["headers_ms"], "done_ms": timing["done_ms"]} if timing else {}


def pace(request: httpx.Request, speed: float, timeout_error: TimeoutError_) -> Pace | None:
    """The pace of a replay of ``request`` at ``speed``; None when replay is instant (speed 0)."""
    if speed <= 0:
        return None
    timeouts = request.extensions.get("timeout")
    read = timeouts.get("read") if isinstance(timeouts, dict) else None
    return Pace(speed, float(read) if isinstance(read, int | float) else None, timeout_error)


def untimed(recording: Recording) -> Any:
    """The recording without its timing, to tell whether a new recording differs in anything else."""
    response: dict[str, Any] = {k: v for k, v in recording["response"].items() if k != "timing"}
    if response["is_streaming"] and isinstance(response["body"], list):
        response["body"] = [
            {k: v for k, v in chunk.items() if k != "__ms__"} if isinstance(chunk, dict) else chunk
            for chunk in response["body"]
        ]
    return {**recording, "response": response}
