"""The recordings directory: one ``<key>.json`` file per request, read through the format's parser,
written atomically, with a bounded cache of parsed recordings."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

from llmtape.errors import RecordingError
from llmtape.format.recording import Recording, dumps, parse
from llmtape.locks import KeyLock

# Parsed recordings kept in memory: enough for a test's conversation, bounded for a suite's thousands.
CACHE_SIZE = 64
# A miss looks for the closest recording; in a huge directory it stops looking after this.
CLOSEST_SEARCH_SECONDS = 2.0
CLOSEST_SEARCH_FILES = 5000


class Store:
    """Reads and writes the recordings of one directory."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._cache: OrderedDict[str, Recording] = OrderedDict()
        self._checked: set[str] = set()  # names whose content was found to match the name
        self._mutex = threading.Lock()

    def path(self, name: str) -> Path:
        """Where the recording ``name`` lives, whether or not it exists."""
        return self.directory / f"{name}.json"

    def load(self, name: str, *, fresh: bool = False) -> Recording | None:
        """The recording ``name``, or None when there is none; ``fresh`` reads past the cache."""
        with self._mutex:
            cached = None if fresh else self._cache.get(name)
            if cached is not None:
                self._cache.move_to_end(name)
                return cached
        try:
            recording = read(self.path(name))
        except FileNotFoundError:
            return None
        self._remember(name, recording)
        return recording

    def checked(self, name: str) -> bool:
        """True once :meth:`mark_checked` said this file's content matches its name."""
        return name in self._checked

    def mark_checked(self, name: str) -> None:
        self._checked.add(name)

    def _remember(self, name: str, recording: Recording) -> None:
        with self._mutex:
            self._cache[name] = recording
            self._cache.move_to_end(name)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def save(self, name: str, recording: Recording) -> Path:
        """Write a recording atomically: readers see the old file or the new one, never half."""
        path = self.path(name)
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.directory, prefix=f".{name[:16]}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(dumps(recording))
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        self._remember(name, recording)
        self.mark_checked(name)
        return path

    def lock(self, name: str) -> KeyLock:
        """The (not yet taken) lock that keeps parallel workers from recording ``name`` twice."""
        return KeyLock(self.directory, name)

    def modified(self, name: str) -> float:
        """When the recording ``name`` was last written (0 when it does not exist)."""
        try:
            return self.path(name).stat().st_mtime
        except FileNotFoundError:
            return 0.0

    def each(self, limit_seconds: float | None = None) -> Iterator[tuple[Path, Recording | RecordingError]]:
        """Every recording file, parsed, or the error that says why it could not be; with
        ``limit_seconds``, stops after that long or CLOSEST_SEARCH_FILES files."""
        if not self.directory.is_dir():
            return
        deadline = None if limit_seconds is None else time.monotonic() + limit_seconds
        for count, path in enumerate(sorted(self.directory.glob("*.json"))):
            if deadline is not None and (count >= CLOSEST_SEARCH_FILES or time.monotonic() > deadline):
                return
            try:
                yield path, read(path)
            except (RecordingError, FileNotFoundError) as error:
                yield path, error if isinstance(error, RecordingError) else unreadable(path, error)


def read(path: Path) -> Recording:
    """One recording file through the format's parser; FileNotFoundError when it is not there."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as error:
        raise unreadable(path, error) from None
    return parse(content, shown(path))


def unreadable(path: Path, error: OSError) -> RecordingError:
    return RecordingError(f"llmtape: cannot read the recording ({error})", path=shown(path))


def shown(path: Path) -> str:
    """A path as a person wants to read it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
