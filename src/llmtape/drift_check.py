"""Drift mode's live side: each replayed call sent again to the live API, and compared.

The test gets its recording at once, as in replay mode, and the request is kept (its real credentials, its
body as the application sent it). When the session ends, once every test and fixture is done and with
them any mock of their own, worker threads send the kept requests through a client of llmtape's own,
marked live so no interceptor answers it, read each whole answer into the stored form a recording would
have, and compare the two (``drift.compare``); a live answer that says nothing of the model (401, 403,
429, a server error) is reported as a failed check, not as drift, and so is a check the end of the run did
not wait for. Only the calls a model answers are sent again (``config.COMPARED``). Nothing is written to
the recordings.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from llmtape.drift import Entry, Report, compare
from llmtape.errors import shown
from llmtape.format.recording import StoredResponse, Timing, new_recording, scrub_url
from llmtape.live import LIVE, StreamRecorder, is_stream, plain_response
from llmtape.secrets import environment_secrets, masked, redact_recording
from llmtape.stable_ids import Answer
from llmtape.store import read

WORKERS = 4
TIMEOUT = httpx.Timeout(120.0, connect=15.0)
FINISH_SECONDS = 600.0  # how long the end of the session waits for the live answers
OUTSIDE = "(outside any test)"  # the test named for a call of a session or module fixture


@dataclass(frozen=True, slots=True)
class _Pending:
    request: httpx.Request
    path: Path
    test: str


class DriftCheck:
    """The calls of one run to compare with the live API, and the report their comparisons fill."""

    def __init__(self) -> None:
        self.report = Report()
        self._kept: list[_Pending] = []
        self._mutex = threading.Lock()

    def check(self, request: httpx.Request, path: Path, test: str) -> None:
        """Keep ``request`` (replayed from the recording at ``path``) to compare at the end of the run."""
        copy = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            content=request.content,
            extensions={"timeout": TIMEOUT.as_dict(), LIVE: True},
        )
        with self._mutex:
            self._kept.append(_Pending(copy, path, test or OUTSIDE))

    def finish(self, timeout: float = FINISH_SECONDS) -> Report:
        """Send the kept requests live, WORKERS at a time, compare, and return the report; a check not done
        within ``timeout`` seconds, or when the run is interrupted, is reported as not compared."""
        with self._mutex:
            kept, self._kept = self._kept, []
        if not kept:
            return self.report
        pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="llmtape-drift")
        client = httpx.Client(timeout=TIMEOUT)
        futures: dict[Future[None], _Pending] = {
            pool.submit(self._compare, client, call): call for call in kept
        }
        reason = f"not compared: the run ended before the live API answered (waited {timeout:g} s)"
        try:
            wait(futures, timeout=timeout)
        except KeyboardInterrupt:
            reason = "not compared: the run was interrupted"
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            for future, call in futures.items():
                if not future.done() or future.cancelled():
                    self.report.add(self._entry(call, error=reason))
            if all(future.done() for future in futures):
                client.close()
        return self.report

    def _entry(self, call: _Pending, error: str | None = None) -> Entry:
        return Entry(
            test=call.test,
            recording=shown(call.path),
            method=call.request.method,
            url=scrub_url(masked(str(call.request.url))),  # where it was sent: the recording's may be another
            model=None,
            drift=None,
            error=error,
        )

    def _compare(self, client: httpx.Client, call: _Pending) -> None:
        entry = self._entry(call)
        try:
            recording = read(call.path)
            model = recording["request"].get("model")
            entry.model = model if isinstance(model, str) else None
            # Redacted as the recording was, so a credential in an answer is not taken for drift.
            live = redact_recording(
                new_recording(recording["request"], self._live(client, call.request)),
                environment_secrets(os.environ),
            )["response"]
            if recording["response"]["status"] < 400 and _unavailable(live["status"]):
                body = masked(orjson.dumps(live["body"]).decode("utf-8", "replace"))
                entry.error = f"the live API answered {live['status']}: {body[:200]}"
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
