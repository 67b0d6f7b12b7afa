"""The carriers: they carry out, for a sync or an async client, what ``decide`` said.

Both share every step but the waiting and the reading: the request is received and decided;
a replay, a miss or a failure is answered at once; a recording takes the request's lock,
checks again, sends the request through the caller's own transport (``send``), and stores the
answer, releasing the lock on every path: stored, failed, abandoned, or at the test's end.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager

import httpx

from llmtape.config import Mode
from llmtape.decide import Decision, Drop, Fail, Forward, Miss, Record, Replay, decide, recheck
from llmtape.errors import LlmtapeError, LockTimeout, RecordingError, SecretFound, SecretInFile, shown
from llmtape.format.recording import StoredResponse, Timing, new_recording, new_request
from llmtape.incoming import Incoming
from llmtape.ledger import tokens_of
from llmtape.live import AsyncTee, SyncTee, acapture, capture, is_stream, streamed
from llmtape.locks import KeyLock
from llmtape.replay import FAILED_STATUS, MISSING_STATUS, error_response, to_http
from llmtape.secrets import (
    environment_secrets,
    file_credentials,
    masked,
    recording_shapes,
    redact_recording,
)
from llmtape.stable_ids import Answer, Ids
from llmtape.tape import OpenRecording, Outcome, Tape
from llmtape.timing import Pace, Stopwatch, TimeoutError_, pace


def handle(
    tape: Tape,
    request: httpx.Request,
    send: Callable[[httpx.Request], httpx.Response],
    timeout_error: TimeoutError_ = httpx.ReadTimeout,
) -> httpx.Response | None:
    """The answer to ``request`` from a sync client; None when it goes to the network unchanged. ``send``
    sends the request given (``request``, or a copy carrying the real ids of its stable ones); a paced
    replay that outlasts the read timeout raises ``timeout_error``."""
    incoming, decision = _decided(tape, request)
    if incoming is None or not isinstance(decision, Record):
        answer, paced = _answer(tape, request, incoming, decision, timeout_error)
        if paced is not None:
            with _timed_out_unsent(tape, incoming):
                paced.wait(paced.before_headers(_replayed(decision)))
        return answer
    lock = tape.store.lock(incoming.name)
    try:
        lock.acquire()
    except LockTimeout as error:
        return _answer(tape, request, incoming, Fail(error))[0]
    with _claimed(tape, request, incoming, lock) as claim:
        if not isinstance(claim, Saver):
            return claim
        live = send(claim.sent(request))
        claim.arrived()
        return capture(live, claim) if not is_stream(live) else claim.streamed(live, SyncTee(live, claim))


async def ahandle(
    tape: Tape,
    request: httpx.Request,
    send: Callable[[httpx.Request], Awaitable[httpx.Response]],
    timeout_error: TimeoutError_ = httpx.ReadTimeout,
) -> httpx.Response | None:
    """The async form of :func:`handle`: the same steps, waiting without blocking the event loop."""
    incoming, decision = _decided(tape, request)
    if incoming is None or not isinstance(decision, Record):
        answer, paced = _answer(tape, request, incoming, decision, timeout_error)
        if paced is not None:
            with _timed_out_unsent(tape, incoming):
                await paced.await_(paced.before_headers(_replayed(decision)))
        return answer
    lock = tape.store.lock(incoming.name)
    try:
        await lock.aacquire()
    except LockTimeout as error:
        return _answer(tape, request, incoming, Fail(error))[0]
    with _claimed(tape, request, incoming, lock) as claim:
        if not isinstance(claim, Saver):
            return claim
        live = await send(claim.sent(request))
        claim.arrived()
        return (
            await acapture(live, claim)
            if not is_stream(live)
            else claim.streamed(live, AsyncTee(live, claim))
        )


@contextmanager
def _timed_out_unsent(tape: Tape, incoming: Incoming | None) -> Iterator[None]:
    """A paced replay that timed out (or was cancelled) before its headers: no answer came, so the client's
    retry is the same call, not the next one."""
    try:
        yield
    except BaseException:
        if incoming is not None:
            tape.unanswered(incoming)
        raise


def _replayed(decision: Decision) -> StoredResponse:
    assert isinstance(decision, Replay)
    return decision.recording["response"]


@contextmanager
def _claimed(
    tape: Tape, request: httpx.Request, incoming: Incoming, lock: KeyLock
) -> Iterator[httpx.Response | Saver | None]:
    """With the lock held: the replay of what a parallel worker recorded meanwhile, or the Saver that
    records the live answer and then lets the lock go. If the block raises, the lock is let go at once."""
    try:
        settled = recheck(incoming, tape.options, tape.run)
        if settled is not None:
            lock.release()
            yield _answer(tape, request, incoming, settled)[0]
        else:
            yield Saver(tape, incoming, lock)
    except BaseException:
        lock.release()
        raise


def _decided(tape: Tape, request: httpx.Request) -> tuple[Incoming | None, Decision]:
    try:
        incoming = tape.receive(request)
    except LlmtapeError as error:
        # Live mode keys nothing: a request it cannot key still goes to the network.
        return None, Forward() if tape.options.mode is Mode.LIVE else Fail(error)
    return incoming, decide(incoming, tape.options, tape.run)


def _answer(
    tape: Tape,
    request: httpx.Request,
    incoming: Incoming | None,
    decision: Decision,
    timeout_error: TimeoutError_ = httpx.ReadTimeout,
) -> tuple[httpx.Response | None, Pace | None]:
    """Every outcome but a recording: replay (and its pace, when it is not instant), miss, failure, or
    (live mode) the network."""
    if isinstance(decision, Fail):
        message = tape.fail(decision.error, request=request, incoming=incoming)
        return error_response(FAILED_STATUS, "llmtape_error", message), None
    if incoming is None:
        return None, None  # live mode, unkeyable: sent as it is
    if isinstance(decision, Replay):
        paced = pace(request, tape.options.speed, timeout_error)
        try:
            answer = to_http(decision.recording["response"], source=decision.path, pace=paced)
        except RecordingError as error:  # a sidecar file that is missing or altered
            return _answer(tape, request, incoming, Fail(error))
        tape.run.replayed(decision.path)
        tape.log(incoming, Outcome.REPLAYED, usage=tokens_of(decision.recording))
        if decision.compare:
            tape.run.drift.check(request, decision.path, tape.options.nodeid)
        return answer, paced
    if isinstance(decision, Miss):
        tape.log(incoming, Outcome.MISSING, decision.message)
        return error_response(MISSING_STATUS, "llmtape_missing_recording", decision.message), None
    if isinstance(decision, Drop):
        return (httpx.Response(204) if tape.options.mode is Mode.REPLAY else None), None
    assert isinstance(decision, Forward)
    tape.log(incoming, Outcome.LIVE)
    return None, None


def _restored(request: httpx.Request, ids: Ids) -> httpx.Request:
    """``request`` with the stable ids it carries turned back into the live API's own (the same length,
    so its content-length holds); the very same request when it carries none."""
    url, content = str(request.url), request.content
    # Only a JSON body carries ids back: a file's bytes (a multipart upload) are sent as they were given.
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    json_body = kind == "application/json" or kind.endswith("+json")
    live_url, live_content = ids.outgoing_url(url), ids.outgoing(content) if json_body else content
    if live_url == url and live_content is content:
        return request
    return httpx.Request(
        request.method, live_url, headers=request.headers, content=live_content, extensions=request.extensions
    )


class Saver:
    """Stores a recorded answer through the secret gate, logs the call, and releases the lock."""

    def __init__(self, tape: Tape, incoming: Incoming, lock: KeyLock) -> None:
        self._tape, self._incoming, self._lock = tape, incoming, lock
        self._open: OpenRecording | None = None
        self._clock: Stopwatch | None = None
        self._headers_ms = 0
        self.ids: Answer | None = None

    def sent(self, request: httpx.Request) -> httpx.Request:
        """The request to send live (with the real ids of the stable ones it carries); the clock starts."""
        ids, incoming = self._tape.ids, self._incoming
        if self._tape.options.timing:
            self._clock = Stopwatch()
        if ids is None:
            return request
        # The ids the caller sent itself (not stand-ins llmtape gave it) stay as they are in the answer.
        self.ids = ids.answer(
            f"{incoming.key}:{incoming.occurrence}", sent=request.url.raw_path + request.content
        )
        return _restored(request, ids)

    def arrived(self) -> None:
        """The live status and headers are here."""
        self._headers_ms = self.ms() or 0

    def ms(self) -> int | None:
        """Milliseconds since the request was sent; None when timing is not recorded."""
        return None if self._clock is None else self._clock.ms()

    def timing(self) -> Timing | None:
        """The timing of the answer, which has just been read whole."""
        done = self.ms()
        return None if done is None else {"headers_ms": self._headers_ms, "done_ms": done}

    def streamed(self, live: httpx.Response, tee: SyncTee | AsyncTee) -> httpx.Response:
        """The caller's response for a live stream being recorded; the tape finishes the recording at the
        end of the test if nothing else does."""
        self._open = tee
        self._tape.opened(tee)
        return streamed(live, tee)

    def __call__(self, response: StoredResponse, files: Mapping[str, bytes] | None = None) -> None:
        tape, incoming = self._tape, self._incoming
        try:
            secrets = environment_secrets(os.environ)
            sidecars = {**incoming.files, **(files or {})}
            stored = new_request(
                incoming.method, incoming.url, incoming.endpoint, incoming.headers, incoming.body
            )
            options = tape.options
            recording = redact_recording(
                new_recording(stored, response, options.test_id, options.matching.stored()), secrets
            )
            found = recording_shapes(recording)
            if found and not options.allow_secrets:
                # Fails the test at its end; raising here would break the caller's stream midway.
                error = SecretFound(found, path=incoming.path)
                tape.fail(error, incoming=incoming)
                return
            for name, content in sidecars.items():
                variables, shapes = file_credentials(content, secrets)
                # A real key from the environment is never written; a shape only with allow_secrets.
                if variables or (shapes and not options.allow_secrets):
                    refused = SecretInFile(variables + shapes, path=incoming.path, file=name)
                    tape.fail(refused, incoming=incoming)
                    return
            try:
                path = tape.store.save(incoming.name, recording, sidecars)
            except RecordingError as error:  # a full disk, a read-only directory: fails the test at its end
                tape.fail(error, incoming=incoming)
                return
            tape.run.saved(path)
            tape.log(incoming, Outcome.RECORDED, usage=tokens_of(recording))
        finally:
            self._done()

    def abandon(self, reason: str) -> None:
        try:
            where = shown(self._incoming.path)
            message = masked(f"llmtape: not recorded: {reason}\n  file: {where}")
            self._tape.log(self._incoming, Outcome.FAILED, message)
        finally:
            self._done()

    def _done(self) -> None:
        self._lock.release()
        if self._open is not None:
            self._tape.closed(self._open)
