"""The recordings directory: one ``<key>.json`` file per request, written atomically."""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from llmtape.errors import RecordingError
from llmtape.recording import dumps

# Parsed recordings kept in memory: enough for a test's conversation, bounded for a suite's thousands.
CACHE_SIZE = 64
# A miss looks for the closest recording; in a huge directory it stops looking after this.
CLOSEST_SEARCH_SECONDS = 2.0
CLOSEST_SEARCH_FILES = 5000


LOCK_WAIT_SECONDS = 120.0


class KeyLock:
    """An exclusive, cross-process lock on one recording while it is being recorded.

    Lock files live under the system's temporary directory, never among the recordings.
    """

    def __init__(self, directory: Path, name: str) -> None:
        folder = Path(
            tempfile.gettempdir(),
            "llmtape-locks",
            hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16],
        )
        folder.mkdir(parents=True, exist_ok=True)
        self._path = folder / f"{name}.lock"
        self._fd: int | None = None

    def acquire(self) -> KeyLock:
        """Wait for the lock (at most LOCK_WAIT_SECONDS, then go on without it)."""
        fd = os.open(self._path, os.O_CREAT | os.O_RDWR)
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return self
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    return self
                time.sleep(0.02)

    @contextmanager
    def released_on_error(self) -> Iterator[None]:
        """Release the lock if the block raises (the live call failed); keep it otherwise."""
        try:
            yield
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class Store:
    """Reads and writes recordings in one directory; parsed recordings are cached."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._cache: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def path(self, key: str) -> Path:
        """Where the recording of ``key`` lives, whether or not it exists."""
        return self.directory / f"{key}.json"

    def load(self, key: str, *, fresh: bool = False) -> dict[str, Any] | None:
        """The recording of ``key``, or None when there is none; ``fresh`` reads past the cache."""
        cached = None if fresh else self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        path = self.path(key)
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            return None
        recording = parse(content, path)
        self._remember(key, recording)
        return recording

    def _remember(self, key: str, recording: dict[str, Any]) -> None:
        self._cache[key] = recording
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    def save(self, key: str, recording: dict[str, Any]) -> Path:
        """Write a recording atomically: readers see the old file or the new one, never half."""
        path = self.path(key)
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.directory, prefix=f".{key[:16]}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(dumps(recording))
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        self._remember(key, recording)
        return path

    def lock(self, key: str) -> KeyLock:
        """Hold ``key`` while recording it, so parallel workers record it once."""
        return KeyLock(self.directory, key).acquire()

    def modified(self, key: str) -> float:
        """When the recording of ``key`` was last written (0 when it does not exist)."""
        try:
            return self.path(key).stat().st_mtime
        except FileNotFoundError:
            return 0.0

    def closest(self, method: str, endpoint: str) -> Iterator[tuple[Path, dict[str, Any]]]:
        """Recordings of the same method and endpoint, scanned within a time and file budget."""
        if not self.directory.is_dir():
            return
        deadline = time.monotonic() + CLOSEST_SEARCH_SECONDS
        for count, path in enumerate(self.directory.glob("*.json")):
            if count >= CLOSEST_SEARCH_FILES or time.monotonic() > deadline:
                return
            try:
                recording = parse(path.read_bytes(), path)
            except (OSError, RecordingError):
                continue
            request = recording["request"]
            if request.get("method") == method and request.get("endpoint") == endpoint:
                yield path, recording


def shown(path: Path) -> str:
    """A path as a person wants to read it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def parse(content: bytes, path: Path) -> dict[str, Any]:
    """Decode and shape-check a recording file, naming the file and the fix on failure."""
    try:
        recording = orjson.loads(content)
    except orjson.JSONDecodeError as error:
        raise RecordingError(
            f"llmtape: recording is not valid JSON ({error}); record it again",
            path=shown(path),
        ) from None
    if not (
        isinstance(recording, dict)
        and isinstance(recording.get("request"), dict)
        and isinstance(recording.get("response"), dict)
    ):
        raise RecordingError(
            "llmtape: recording lacks its 'request' or 'response' object; record it again",
            path=shown(path),
        )
    return recording
