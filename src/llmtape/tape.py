"""The tape: decides, for each intercepted request, to replay, record, pass live, or miss."""

from __future__ import annotations

import enum
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from llmtape import intercept
from llmtape.config import Endpoints, Mode, resolve_mode
from llmtape.errors import LlmtapeError, MissingRecording, RecordingError, SecretFound, UnsupportedRequest
from llmtape.explain import miss_message
from llmtape.keys import file_name, request_key
from llmtape.matching import Matching, recording_key, stored_matching
from llmtape.record import aforward, arecord, forward, record
from llmtape.recording import chunk_types, dumps, new_recording, new_request
from llmtape.replay import FAILED_STATUS, MISSING_STATUS, error_response, to_http
from llmtape.secrets import credential_shapes, environment_secrets, redact
from llmtape.store import KeyLock, Store, shown
from llmtape.typemap import KNOWN_TYPES


class Outcome(enum.StrEnum):
    """What became of one intercepted call."""

    REPLAYED = "replayed"
    RECORDED = "recorded"
    LIVE = "live"
    MISSING = "missing"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """One intercepted request (its parsed JSON ``body`` included) and its outcome."""

    method: str
    url: str
    endpoint: str
    model: Any
    key: str
    path: Path
    outcome: Outcome
    body: Any = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Incoming:
    method: str
    url: str
    endpoint: str
    body: Any
    key: str
    occurrence: int  # 1 for the first request with this key in the current test, 2 for a repeat...

    @property
    def name(self) -> str:
        return file_name(self.key, self.occurrence)

    @property
    def model(self) -> Any:
        return self.body.get("model") if isinstance(self.body, dict) else None


class Tape:
    """Record-and-replay of LLM calls into one recordings directory, active while entered."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        mode: Mode | str = Mode.REPLAY,
        endpoints: Endpoints | None = None,
        fix: str = "run again with LLMTAPE_MODE=record",
        refix: str = "run again with LLMTAPE_MODE=rewrite",
        test_id: str | None = None,
    ) -> None:
        self.mode = Mode.parse(str(mode), source="mode")
        self.store = Store(directory)
        self.endpoints = endpoints or Endpoints()
        self.enabled = True
        self.matching = Matching()
        self.secrets = environment_secrets(os.environ)
        self.allow_secrets = False
        self.fix = fix
        self.refix = refix
        # Set, the tape keys recordings per test (the per-test scope): the id is part of the key.
        self.test_id = test_id
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._occurrences: Counter[str] = Counter()
        # Every recording file this tape replayed or wrote, for finding the unused ones.
        self.used: set[Path] = set()
        # When the run began: in rewrite mode a recording written since then is this run's, and replays.
        self.started = time.time()
        # Files written while this tape was active: rewrite mode records each of them once.
        self._written: set[str] = set()

    def __enter__(self) -> Tape:
        intercept.push(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        intercept.pop(self)

    def intercepts(self, request: httpx.Request) -> bool:
        """True when ``request`` is an LLM call this tape handles."""
        return self.enabled and self.endpoints.match(request.method, request.url.path)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer an intercepted request from a sync client."""
        try:
            offline = self._offline(request)
            if isinstance(offline, httpx.Response):
                return offline
            if self.mode is Mode.LIVE:
                response = forward(request)
            else:
                claimed = self._claim(offline)
                if isinstance(claimed, httpx.Response):
                    return claimed
                with claimed.released_on_error():
                    response = record(request, _Saver(self, offline, request, claimed))
            self._log(offline, self._live_outcome())
            return response
        except LlmtapeError as error:
            return self._failed(request, error)

    async def ahandle(self, request: httpx.Request) -> httpx.Response:
        """Answer an intercepted request from an async client."""
        try:
            offline = self._offline(request)
            if isinstance(offline, httpx.Response):
                return offline
            if self.mode is Mode.LIVE:
                response = await aforward(request)
            else:
                claimed = self._claim(offline)
                if isinstance(claimed, httpx.Response):
                    return claimed
                with claimed.released_on_error():
                    response = await arecord(request, _Saver(self, offline, request, claimed))
            self._log(offline, self._live_outcome())
            return response
        except LlmtapeError as error:
            return self._failed(request, error)

    def _offline(self, request: httpx.Request) -> httpx.Response | _Incoming:
        """The replayed or missing answer; or, when the mode calls the API, the parsed request."""
        incoming = self._incoming(request)
        if self.mode in (Mode.REPLAY, Mode.RECORD) or incoming.name in self._written:
            recording = self.store.load(incoming.name)
            if recording is not None:
                return self._replay(incoming, recording)
        if self.mode is Mode.REPLAY:
            return self._miss(incoming)
        return incoming

    def _replay(self, incoming: _Incoming, recording: dict[str, Any]) -> httpx.Response:
        path = self.store.path(incoming.name)
        self._check(recording, path, incoming.key)
        self.used.add(path)
        self._log(incoming, Outcome.REPLAYED)
        return to_http(recording["response"], source=shown(path))

    def _claim(self, incoming: _Incoming) -> httpx.Response | KeyLock:
        """The lock for recording ``incoming``; or, if a parallel worker (or an earlier test of
        this run, in rewrite mode) recorded it meanwhile, its replay."""
        lock = self.store.lock(incoming.name)
        recording = self.store.load(incoming.name, fresh=True)
        fresh = self.mode is Mode.RECORD or self.store.modified(incoming.name) >= self.started
        if recording is not None and fresh:
            lock.release()
            return self._replay(incoming, recording)
        return lock

    def _check(self, recording: dict[str, Any], path: Path, key: str) -> None:
        """A recording replays only if its types are known and its content is what its name says."""
        for type_name in chunk_types(recording["response"]):
            if type_name not in KNOWN_TYPES:
                raise RecordingError(
                    f"llmtape: unknown __type__ {type_name!r}: only the types of llmtape's type map replay; "
                    "record it again, or run `llmtape verify` to see what else is off",
                    path=shown(path),
                )
        stored = recording_key(recording, stored_matching(recording, self.matching, path))
        if stored != key:
            raise RecordingError(
                f"llmtape: this file is named for key {key}, but its stored request has key {stored}; "
                "run `llmtape rehash` if the matching settings changed, else record it again",
                path=shown(path),
            )

    def _live_outcome(self) -> Outcome:
        return Outcome.LIVE if self.mode is Mode.LIVE else Outcome.RECORDED

    def reset(self) -> list[Call]:
        """Start a new test: forget the calls (returned) and how often each request was sent."""
        with self._lock:
            calls, self.calls = self.calls, []
            self._occurrences.clear()
        return calls

    def problems(self) -> list[Call]:
        """The calls that went wrong: misses and failures."""
        return [c for c in self.calls if c.outcome in (Outcome.MISSING, Outcome.FAILED)]

    def counts(self) -> dict[Outcome, int]:
        """How many calls had each outcome."""
        return {outcome: sum(c.outcome is outcome for c in self.calls) for outcome in Outcome}

    def _incoming(self, request: httpx.Request) -> _Incoming:
        method, endpoint = request.method.upper(), request.url.path
        # Credentials from the environment never reach a key or a file: they are redacted first.
        body = redact(_json_body(request), self.secrets)
        key = request_key(method, endpoint, self.matching.apply(body), self.test_id)
        with self._lock:
            self._occurrences[key] += 1
            occurrence = self._occurrences[key]
        return _Incoming(method, redact(str(request.url), self.secrets), endpoint, body, key, occurrence)

    def _miss(self, incoming: _Incoming) -> httpx.Response:
        message = miss_message(
            occurrence=incoming.occurrence,
            name=incoming.name,
            method=incoming.method,
            url=incoming.url,
            model=incoming.model,
            key=incoming.key,
            store=self.store,
            body=incoming.body,
            endpoint=incoming.endpoint,
            matching=self.matching.apply,
            fix=self.fix,
        )
        self._log(incoming, Outcome.MISSING, message)
        return error_response(MISSING_STATUS, "llmtape_missing_recording", message)

    def _failed(self, request: httpx.Request, error: LlmtapeError) -> httpx.Response:
        call = Call(
            method=request.method,
            url=str(request.url),
            endpoint=request.url.path,
            model=None,
            key="",
            path=Path(getattr(error, "path", "") or self.store.directory),
            outcome=Outcome.FAILED,
            error=f"{error}\n  to record it again: {self.refix}",
        )
        with self._lock:
            self.calls.append(call)
        return error_response(FAILED_STATUS, "llmtape_error", call.error or "")

    def _log(self, incoming: _Incoming, outcome: Outcome, error: str | None = None) -> None:
        call = Call(
            method=incoming.method,
            url=incoming.url,
            endpoint=incoming.endpoint,
            model=incoming.model,
            key=incoming.key,
            path=self.store.path(incoming.name),
            outcome=outcome,
            body=incoming.body,
            error=error,
        )
        with self._lock:
            self.calls.append(call)


class _Saver:
    """Writes a recorded response (through the secret gate) and releases the key's lock."""

    def __init__(self, tape: Tape, incoming: _Incoming, request: httpx.Request, lock: KeyLock) -> None:
        self._tape, self._incoming, self._request, self._lock = tape, incoming, request, lock
        self._stored_request = new_request(
            incoming.method, incoming.url, incoming.endpoint, request.headers, incoming.body
        )

    def __call__(self, response: dict[str, Any]) -> None:
        tape, name = self._tape, self._incoming.name
        try:
            recording = new_recording(self._stored_request, response, tape.test_id, tape.matching.stored())
            recording = redact(recording, tape.secrets)
            found = credential_shapes(dumps(recording).decode("utf-8"))
            if found and not tape.allow_secrets:
                # Fails the test at its end; raising here would break the caller's stream midway.
                tape._failed(self._request, SecretFound(found, path=shown(tape.store.path(name))))
                return
            tape.used.add(tape.store.save(name, recording))
            tape._written.add(name)
        finally:
            self._lock.release()

    def abandon(self) -> None:
        self._lock.release()


def _json_body(request: httpx.Request) -> Any:
    content = request.content
    if not content:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        raise UnsupportedRequest(
            "llmtape: the request body is not JSON, so it has no recording key; "
            "leave this endpoint out of llmtape_endpoints or disable llmtape for this test "
            "with @pytest.mark.llmtape(enabled=False)",
            method=request.method,
            url=str(request.url),
        ) from None


@contextmanager
def tape(
    directory: str | os.PathLike[str] = "recordings",
    *,
    mode: Mode | str | None = None,
    endpoints: Endpoints | None = None,
    strict: bool = True,
    test_id: str | None = None,
) -> Iterator[Tape]:
    """Record and replay LLM calls outside pytest.

    ``mode`` defaults to the ``LLMTAPE_MODE`` environment variable, else replay. With
    ``strict``, leaving the block raises :class:`MissingRecording` if any call missed.
    ``test_id`` selects the per-test scope: the id becomes part of every key.
    """
    resolved = resolve_mode(option=mode, record_flag=False, env=os.environ, ini=None)
    with Tape(directory, mode=resolved, endpoints=endpoints, test_id=test_id) as active:
        yield active
    problems = active.problems()
    if strict and problems:
        first = problems[0]
        raise MissingRecording(report(problems), key=first.key, path=str(first.path))


def report(problems: list[Call]) -> str:
    """One message for all the calls that went wrong, each with its full explanation."""
    return "\n\n".join(call.error or f"llmtape: {call.outcome} {call.method} {call.url}" for call in problems)
