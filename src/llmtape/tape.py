"""The tape of one test (or one ``llmtape.tape`` block): its options, the calls it answered, and the
streams it is still recording."""

from __future__ import annotations

import enum
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from llmtape.config import Endpoints, Mode, resolve_mode, resolve_speed

if TYPE_CHECKING:
    from llmtape.drift import Report
from llmtape.context import Occurrences, Options, Run, activated
from llmtape.errors import LlmtapeError, MissingRecording, RecordingError, shown
from llmtape.format.recording import scrub_url
from llmtape.incoming import Incoming, key_of
from llmtape.keys import file_name
from llmtape.ledger import Cost, Found, Ledger, Tokens
from llmtape.prices import Prices
from llmtape.secrets import environment_secrets, masked, redact
from llmtape.store import Store
from llmtape.usage import noted


class Outcome(enum.StrEnum):
    """What became of one intercepted call."""

    REPLAYED = "replayed"
    RECORDED = "recorded"
    LIVE = "live"
    MISSING = "missing"
    FAILED = "failed"
    ESCAPED = "escaped"  # left through an HTTP stack llmtape does not intercept (escapes.py)


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
    usage: Found | None = None  # the model the answer names and its tokens, when it counts any


class OpenRecording(Protocol):
    """A live stream being recorded; ``finish`` reads what the caller left unread and saves it."""

    def finish(self) -> None: ...


class Tape:
    """The LLM calls of one test: what each became, and the recordings still being written."""

    def __init__(self, options: Options, run: Run | None = None) -> None:
        self.options = options
        self.run = run or Run()
        self.store: Store = self.run.store(options.directory)
        self.calls: list[Call] = []
        self._occurrences = Occurrences()
        self._open: list[OpenRecording] = []
        self._mutex = threading.Lock()
        self.ids = self.run.ids if options.stable_ids else None  # the run's stable ids (stable_ids.py)

    def receive(self, request: httpx.Request) -> Incoming:
        """The request as llmtape stores and keys it, counted among this test's requests."""
        # What the environment holds now: a test may set its key after the tape began.
        secrets = environment_secrets(os.environ)
        # Keyed as stored: a key in the URL path is redacted in the endpoint too, so the recording replays.
        # Messages show the URL too, so it is kept without its credential query parameters.
        url, endpoint = scrub_url(redact(str(request.url), secrets)), redact(request.url.path, secrets)
        body, files, key = key_of(
            request, url, endpoint, secrets, self.options.matching, self.options.test_id
        )
        occurrence = self._occurrences.next(key)
        return Incoming(
            method=request.method.upper(),
            url=url,
            endpoint=endpoint,
            headers=request.headers,
            body=body,
            key=key,
            occurrence=occurrence,
            path=self.store.path(file_name(key, occurrence)),
            files=files,
        )

    def unanswered(self, incoming: Incoming) -> None:
        """A replay timed out before its answer came: a retry of the request is this call again, and the
        tokens of the answer it never gave are not counted."""
        self._occurrences.unsent(incoming.key, incoming.occurrence)
        with self._mutex:
            for index in range(len(self.calls) - 1, -1, -1):
                if self.calls[index].path == incoming.path:
                    self.calls[index] = replace(self.calls[index], usage=None)
                    break

    def log(
        self, incoming: Incoming, outcome: Outcome, error: str | None = None, usage: Found | None = None
    ) -> None:
        """Note what became of a call (and, replayed or recorded, the tokens of its answer)."""
        self._append(
            Call(
                method=incoming.method,
                url=incoming.url,
                endpoint=incoming.endpoint,
                model=incoming.model,
                key=incoming.key,
                path=incoming.path,
                outcome=outcome,
                body=incoming.body,
                error=error,
                usage=usage,
            )
        )

    def fail(
        self, error: LlmtapeError, *, request: httpx.Request | None = None, incoming: Incoming | None = None
    ) -> str:
        """Note a call that llmtape could not answer; the message (with its fix) is returned."""
        # Only a damaged or mismatched file is mended by recording it again; other errors carry their fix.
        fix = (
            f"\n  to record it again: {self.options.rewrite_fix}" if isinstance(error, RecordingError) else ""
        )
        message = masked(f"{error}{fix}")  # shown in the terminal, reports and the client's exception
        if incoming is not None:
            self.log(incoming, Outcome.FAILED, message)
            return message
        assert request is not None, "a failure names its request"
        self._append(
            Call(
                method=request.method,
                url=masked(str(request.url)),
                endpoint=masked(request.url.path),
                model=None,
                key="",
                path=Path(getattr(error, "path", "") or self.store.directory),
                outcome=Outcome.FAILED,
                error=message,
            )
        )
        return message

    def escaped(self, place: str, message: str) -> None:
        """Note a connection to a hosted LLM API that no interceptor caught (once per place and message)."""
        with self._mutex:
            if any(c.outcome is Outcome.ESCAPED and c.error == message for c in self.calls):
                return
        call = Call(
            method="",
            url=f"//{place}",
            endpoint="",
            model=None,
            key="",
            path=self.store.directory,
            outcome=Outcome.ESCAPED,
            error=message,
        )
        self._append(call)

    def _append(self, call: Call) -> None:
        with self._mutex:
            self.calls.append(call)

    def opened(self, recording: OpenRecording) -> None:
        with self._mutex:
            self._open.append(recording)

    def closed(self, recording: OpenRecording) -> None:
        with self._mutex:
            if recording in self._open:
                self._open.remove(recording)

    def finish(self) -> None:
        """The test is over: read what the application left unread of its streams, and save them."""
        while True:
            with self._mutex:
                if not self._open:
                    return
                recording = self._open.pop(0)
            recording.finish()

    def problems(self) -> list[Call]:
        """The calls that went wrong: misses, failures, and in replay mode escapes."""
        wrong = {Outcome.MISSING, Outcome.FAILED} | (
            {Outcome.ESCAPED} if self.options.mode is Mode.REPLAY else set()
        )
        return [c for c in self.calls if c.outcome in wrong]

    @property
    def view(self) -> TapeView:
        return TapeView(self)


class TapeView:
    """A test's view of its tape: the ``calls`` so far, their ``counts()``, the ``mode`` and ``speed``."""

    def __init__(self, tape: Tape) -> None:
        self._tape = tape

    @property
    def calls(self) -> list[Call]:
        """Each intercepted call of the test, in the order they were answered (a copy)."""
        return list(self._tape.calls)

    @property
    def mode(self) -> Mode:
        return self._tape.options.mode

    @property
    def drift(self) -> Report | None:
        """Drift mode: the report of the live comparisons (complete once the block or the run ended)."""
        return self._tape.run.drift.report if self.mode is Mode.DRIFT else None

    @property
    def speed(self) -> float:
        """The replay speed: 0 instant, 1 the recorded pace, 4 four times faster."""
        return self._tape.options.speed

    def counts(self) -> dict[Outcome, int]:
        """How many calls had each outcome."""
        calls = self._tape.calls
        return {outcome: sum(c.outcome is outcome for c in calls) for outcome in Outcome}

    def ledger(self, outcome: Outcome = Outcome.REPLAYED) -> Ledger:
        """The tokens, per model, of the calls with this outcome (the replayed ones: what the recordings
        stood in for)."""
        return ledger_of(self._tape.calls, outcome)

    @property
    def tokens(self) -> Tokens:
        """The tokens of this test's replayed calls."""
        return self.ledger().total()

    @property
    def cost(self) -> Cost:
        """What this test's replayed calls would have cost, at the project's prices (``llmtape_prices``)."""
        return self.ledger().cost(self._tape.options.prices or Prices.load())

    def __repr__(self) -> str:
        return f"<llmtape {self.mode} tape: {len(self._tape.calls)} calls>"


@contextmanager
def tape(
    directory: str | os.PathLike[str] = "recordings",
    *,
    mode: Mode | str | None = None,
    endpoints: Endpoints | None = None,
    strict: bool = True,
    test_id: str | None = None,
    speed: float | None = None,
    timing: bool = True,
    stable_ids: bool = True,
) -> Iterator[TapeView]:
    """Record and replay LLM calls outside pytest.

    ``mode`` defaults to the ``LLMTAPE_MODE`` environment variable, else replay. With
    ``strict``, leaving the block raises :class:`MissingRecording` if any call missed.
    ``test_id`` selects the per-test scope: the id becomes part of every key. ``speed`` paces replays
    (``LLMTAPE_SPEED`` by default: 0, instant); ``timing`` false records no timing; ``stable_ids`` false
    keeps the providers' own ids.
    """
    chosen = None if mode is None else str(mode)
    resolved = resolve_mode(option=chosen, record_flag=False, env=os.environ, ini=None)
    pace = resolve_speed(option=None if speed is None else str(speed), env=os.environ, ini=None)
    options = Options(
        mode=resolved,
        directory=Path(directory),
        endpoints=endpoints or Endpoints(),
        test_id=test_id,
        speed=pace,
        timing=timing,
        stable_ids=stable_ids,
    )
    current = Tape(options)
    with activated(current):
        try:
            yield current.view
        finally:
            current.finish()
            if resolved is Mode.DRIFT:
                current.run.drift.finish()
            current.run.tidy()
            current.run.forget()
            noted(current.run.used)  # a pytest session running here must not judge them unused
    problems = current.problems()
    if strict and problems:
        first = problems[0]
        raise MissingRecording(report(problems), key=first.key, path=shown(first.path))


def ledger_of(calls: list[Call], outcome: Outcome) -> Ledger:
    """The tokens, per model, of the ``calls`` with ``outcome``."""
    ledger = Ledger()
    for call in calls:
        usage = call.usage if call.outcome is outcome else None
        if usage is not None:
            ledger.add(*usage)
    return ledger


def report(problems: list[Call]) -> str:
    """One message for all the calls that went wrong, each with its full explanation."""
    return masked(
        "\n\n".join(call.error or f"llmtape: {call.outcome} {call.method} {call.url}" for call in problems)
    )
