"""Drift mode's live side: each replayed call sent again to the live API, in the background, and compared.

The test gets its recording at once, as in replay mode; meanwhile a worker thread of the run sends the same
request (its real credentials, its body as the application sent it) through a client of llmtape's own,
marked live so no interceptor answers it, reads the whole answer into the stored form a recording would
have, and compares the two (``drift.compare``); a live answer that says nothing of the model (401, 403,
429, a server error) is reported as a failed check, not as drift. Only the calls a model answers are sent
again (``config.COMPARED``). Nothing is written to the recordings. At the end of the
session :meth:`DriftCheck.finish` waits for the checks still running and returns the report.
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

import httpx
import orjson

from llmtape.drift import Entry, Report, compare
from llmtape.errors import shown
from llmtape.format.recording import Recording, StoredResponse, Timing, scrub_url
from llmtape.live import LIVE, StreamRecorder, is_stream, plain_response
from llmtape.secrets import masked
from llmtape.stable_ids import Answer

WORKERS = 4
TIMEOUT = httpx.Timeout(120.0, connect=15.0)
FINISH_SECONDS = 600.0  # how long the end of the session waits for the checks still running


class DriftCheck:
    """The background checks of one run and the report they fill."""

    def __init__(self) -> None:
        self.report = Report()
        self._pool: ThreadPoolExecutor | None = None
        self._client: httpx.Client | None = None
        self._futures: list[Future[None]] = []
        self._mutex = threading.Lock()

    def check(self, request: httpx.Request, recording: Recording, path: Path, test: str) -> None:
        """Compare the live answer to ``request`` with ``recording`` (at ``path``), in the background."""
        copy = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            content=request.content,
            extensions={"timeout": TIMEOUT.as_dict(), LIVE: True},
        )
        with self._mutex:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="llmtape-drift")
                self._client = httpx.Client(timeout=TIMEOUT)
            self._futures.append(self._pool.submit(self._compare, copy, recording, path, test))

    def _compare(self, request: httpx.Request, recording: Recording, path: Path, test: str) -> None:
        stored = recording["request"]
        entry = Entry(
            test=test,
            recording=shown(path),
            method=stored["method"],
            url=scrub_url(masked(str(request.url))),  # where it was sent: the recording's URL may be another
            model=stored.get("model") if isinstance(stored.get("model"), str) else None,
            drift=None,
            error=None,
        )
        try:
            assert self._client is not None
            live = self._live(self._client, request)
            if recording["response"]["status"] < 400 and _unavailable(live["status"]):
                body = orjson.dumps(live["body"]).decode("utf-8", "replace")[:200]
                entry.error = masked(f"the live API answered {live['status']}: {body}")
            else:
                entry.drift = compare(recording, live)
        except Exception as error:  # a refused connection, a timeout, an answer that cannot be read
            entry.error = masked(f"{type(error).__name__}: {error}")
        self.report.add(entry)

    @staticmethod
    def _live(client: httpx.Client, request: httpx.Request) -> StoredResponse:
        live = client.send(request, stream=True)
        try:
            if not is_stream(live):
                return plain_response(live, live.read())[0]
            kept = _Kept()
            recorder = StreamRecorder(live, kept)
            for piece in live.iter_bytes():
                deque(recorder.feed(piece), maxlen=0)
            deque(recorder.finish(), maxlen=0)
            if kept.response is None:
                raise RuntimeError(f"the live stream could not be read: {kept.reason}")
            return kept.response
        finally:
            live.close()

    def finish(self, timeout: float = FINISH_SECONDS) -> Report:
        """Wait for the checks still running (at most ``timeout`` seconds) and return the report."""
        with self._mutex:
            futures, pool, client = list(self._futures), self._pool, self._client
        if futures:
            wait(futures, timeout=timeout)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if client is not None:
            client.close()
        return self.report


def _unavailable(status: int) -> bool:
    """A live answer that says nothing of the model: no valid key, no access, a rate limit, a server error."""
    return status in (401, 403, 407, 408, 429) or status >= 500


class _Kept:
    """Keeps a live stream's stored form instead of saving it: drift mode writes nothing."""

    ids: Answer | None = None

    def __init__(self) -> None:
        self.response: StoredResponse | None = None
        self.reason = ""

    def __call__(self, response: StoredResponse, files: object = None) -> None:
        self.response = response

    def abandon(self, reason: str) -> None:
        self.reason = reason

    def ms(self) -> int | None:
        return None

    def timing(self) -> Timing | None:
        return None
