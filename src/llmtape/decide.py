"""The one decision: what happens to an intercepted request.

:func:`decide` looks at the request, the test's options and the recordings on disk, changes
nothing, and returns a plain value; the carriers in ``carry`` only carry it out. While a
request is being recorded, :func:`recheck` asks again under the recording's lock, since a
parallel worker may have recorded it meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from llmtape.config import Mode, is_compared, is_telemetry, place
from llmtape.context import Options, Run
from llmtape.errors import LlmtapeError, RecordingError
from llmtape.format.recording import Recording
from llmtape.incoming import Incoming
from llmtape.matching import recording_key, stored_matching
from llmtape.miss import miss_message
from llmtape.store import Store


@dataclass(frozen=True, slots=True)
class Replay:
    """Answer from this recording; in drift mode, also compare it with the live API's answer."""

    path: Path
    recording: Recording
    compare: bool = False


@dataclass(frozen=True, slots=True)
class Miss:
    """Replay mode and no recording: answer with this explanation."""

    message: str


@dataclass(frozen=True, slots=True)
class Record:
    """Send the request through the caller's transport and save the answer."""


@dataclass(frozen=True, slots=True)
class Forward:
    """Live mode: send the request through the caller's transport, save nothing."""


@dataclass(frozen=True, slots=True)
class Drop:
    """Telemetry, not an LLM call (``config.TELEMETRY``): never stored; empty in replay, live otherwise."""


@dataclass(frozen=True, slots=True)
class Fail:
    """The request cannot be answered: this error says why and how to fix it."""

    error: LlmtapeError


Decision = Replay | Miss | Record | Forward | Drop | Fail


def decide(incoming: Incoming, options: Options, run: Run) -> Decision:
    """What happens to ``incoming`` under ``options``, given the recordings of ``run``."""
    if options.mode is Mode.LIVE:
        return Forward()
    url = urlsplit(incoming.url)
    if is_telemetry(incoming.method, incoming.endpoint, place(url.scheme, url.hostname or "", url.port)):
        return Drop()
    store = run.store(options.directory)
    path = incoming.path
    if options.mode is Mode.REWRITE and not run.wrote(path):
        return Record()  # rewrite never reads the old file, so a damaged one is simply replaced
    try:
        recording = store.load(incoming.name)
        if recording is not None:
            compare = options.mode is Mode.DRIFT and is_compared(incoming.method, incoming.endpoint)
            return Replay(path, checked(store, incoming, options, recording), compare)
    except LlmtapeError as error:
        return Fail(error)
    if options.mode is Mode.REPLAY:
        return Miss(miss_message(incoming, store, options))
    return Record()


def recheck(incoming: Incoming, options: Options, run: Run) -> Replay | Fail | None:
    """Under the recording's lock: the recording a parallel worker (or, in rewrite mode, an earlier test of
    this run, in any worker) made meanwhile, or None when the request must go live."""
    store = run.store(options.directory)
    rewrite = options.mode is Mode.REWRITE
    try:
        recording = store.load(incoming.name)
    except LlmtapeError as error:
        return None if rewrite else Fail(error)  # rewrite mode replaces a damaged file
    if recording is None:
        return None
    if rewrite and not run.wrote(incoming.path):
        return None  # an earlier run's recording, to be recorded again
    try:
        return Replay(incoming.path, checked(store, incoming, options, recording))
    except LlmtapeError as error:
        return Fail(error)


def checked(store: Store, incoming: Incoming, options: Options, recording: Recording) -> Recording:
    """The recording, once its content was found to be what its name says (at most once per file)."""
    if store.checked(incoming.name):
        return recording
    path = incoming.path
    stored = recording_key(recording, stored_matching(recording, options.matching, path))
    if stored != incoming.key:
        raise RecordingError(
            f"llmtape: this file is named for key {incoming.key}, but its stored request has key {stored}; "
            "run `llmtape rehash` if the matching settings changed, else record it again",
            path=path,
        )
    store.mark_checked(incoming.name)
    return recording
