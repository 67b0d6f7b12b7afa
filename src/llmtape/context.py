"""Whose call is this? The options of a test, the state of a run, and the tape that is active.

Each test has its own :class:`Tape`, built from :class:`Options` parsed once when the test was
collected; the tape active in this thread or asyncio task is held in a ``ContextVar``. A thread
that was started without a context of its own (a plain ``threading.Thread``, a thread pool)
falls back to the tape entered last in the process, so its calls are still never sent to the
network unhandled.
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import shutil
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from llmtape.config import Endpoints, Mode
from llmtape.matching import Matching
from llmtape.prices import Prices
from llmtape.stable_ids import Ids
from llmtape.store import Store

if TYPE_CHECKING:
    from llmtape.drift_check import DriftCheck
    from llmtape.tape import Tape


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """How one test's LLM calls are handled; immutable, parsed once from the configuration and marker."""

    mode: Mode = Mode.REPLAY
    directory: Path = Path("recordings")
    endpoints: Endpoints = field(default_factory=Endpoints)
    enabled: bool = True
    test_id: str | None = None  # set in the per-test scope, where the node id joins the key
    allow_secrets: bool = False
    matching: Matching = field(default_factory=Matching)
    nodeid: str = ""  # the test's pytest node id, for reports
    prices: Prices | None = None  # the project's price table (None: the shipped one)
    speed: float = 0.0  # replay pace: 0 instant, 1 as recorded, F times faster (timing.py)
    timing: bool = True  # record when the answer and each chunk arrived
    stable_ids: bool = True  # recorded answers get ids derived from their key (stable_ids.py)
    record_fix: str = "run again with LLMTAPE_MODE=record"
    rewrite_fix: str = "run again with LLMTAPE_MODE=rewrite"

    def intercepts(self, method: str, path: str, host: str) -> bool:
        """True when a request with this method, URL path and host (``name[:port]``) is an LLM call this
        test handles."""
        return self.enabled and self.endpoints.match(method, path, host)


class Run:
    """What the tapes of one run share: its id, the stores, the recordings written, and the files used."""

    def __init__(self, run_id: str | None = None) -> None:
        # In rewrite mode a recording this run wrote replays, in whichever xdist worker of the run wrote it:
        # the workers share this id, and each save leaves a mark under it outside the recordings (never a
        # clock: a file's modification time may lie in the future; never a field: the file stays as recorded).
        self.id = run_id or uuid.uuid4().hex[:16]
        self.used: set[Path] = set()
        self._written: set[Path] = set()
        self._stores: dict[Path, Store] = {}
        self._mutex = threading.Lock()
        self._drift: DriftCheck | None = None
        # The stable ids the run's recorded answers were given, and the real ones they stand for: shared by
        # its tapes, so a file a session fixture uploaded, or a test recorded earlier, keeps its id.
        self.ids = Ids()

    def store(self, directory: Path) -> Store:
        store = self._stores.get(directory)
        if store is not None:
            return store
        with self._mutex:
            return self._stores.setdefault(directory, Store(directory))

    @property
    def drift(self) -> DriftCheck:
        """Drift mode's checks: the live answers compared in the background."""
        with self._mutex:
            if self._drift is None:
                from llmtape.drift_check import DriftCheck

                self._drift = DriftCheck()
            return self._drift

    @property
    def directories(self) -> set[Path]:
        return set(self._stores)

    def wrote(self, path: Path) -> bool:
        """True when this run (this process or another worker of it) wrote the recording at ``path``."""
        return path in self._written or self._mark(path).exists()

    def saved(self, path: Path) -> None:
        with self._mutex:
            self._written.add(path)
            self.used.add(path)
        mark = self._mark(path)
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.touch()

    def forget(self) -> None:
        """At the end of the whole run (not of one worker): remove the marks of what it wrote."""
        shutil.rmtree(self._marks(), ignore_errors=True)

    def _marks(self) -> Path:
        return Path(tempfile.gettempdir(), f"llmtape-runs-{os.getuid()}", self.id)

    def _mark(self, path: Path) -> Path:
        return self._marks() / hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]

    def replayed(self, path: Path) -> None:
        with self._mutex:
            self.used.add(path)

    def tidy(self) -> None:
        """Delete the temporary files interrupted writes left in the directories this run wrote to (a run
        that only replays never lists a directory)."""
        for directory in {path.parent for path in self._written}:
            self.store(directory).clean()


class Occurrences:
    """How often each key was sent in one test: the n-th identical request gets its own recording."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._mutex = threading.Lock()

    def next(self, key: str) -> int:
        with self._mutex:
            self._counts[key] += 1
            return self._counts[key]

    def unsent(self, key: str, occurrence: int) -> None:
        """The ``occurrence`` of ``key`` got no answer (its paced replay timed out): the client's retry is
        the same call again, answered by the same recording, as a live API answers a retry."""
        with self._mutex:
            if self._counts[key] == occurrence:
                self._counts[key] -= 1


_active: contextvars.ContextVar[Tape | None] = contextvars.ContextVar("llmtape_active", default=None)
_fallback: list[Tape] = []  # the tapes entered, for threads that carry no context of their own
_fallback_mutex = threading.Lock()


def active() -> Tape | None:
    """The tape of the calling thread or task; else the one entered last in the process, if any."""
    tape = _active.get()
    if tape is not None:
        return tape
    return _fallback[-1] if _fallback else None


@contextmanager
def activated(tape: Tape) -> Iterator[Tape]:
    """Make ``tape`` answer the LLM calls of this context (and of context-less threads) in the block."""
    from llmtape import intercept

    token = _active.set(tape)
    with _fallback_mutex:
        _fallback.append(tape)
    intercept.install()
    try:
        yield tape
    finally:
        intercept.uninstall()
        with _fallback_mutex:
            _fallback.remove(tape)
        _active.reset(token)
