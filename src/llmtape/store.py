"""The recordings directory: one ``<key>.json`` file per request, read through the format's parser and
written atomically.

Nothing parsed is kept: each replay reads its file once, and a parsed recording (hundreds of objects
for a stream) is freed as soon as its answer is built, instead of piling up for the garbage collector."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from llmtape.errors import RecordingError
from llmtape.format.recording import Recording, dumps, parse
from llmtape.locks import KeyLock

# A miss looks for the closest recording; in a huge directory it stops looking after this.
CLOSEST_SEARCH_SECONDS = 2.0
CLOSEST_SEARCH_FILES = 5000


class Store:
    """Reads and writes the recordings of one directory."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._checked: set[str] = set()  # names whose content was found to match the name

    def path(self, name: str) -> Path:
        """Where the recording ``name`` lives, whether or not it exists."""
        return self.directory / f"{name}.json"

    def load(self, name: str) -> Recording | None:
        """The recording ``name``, or None when there is none."""
        try:
            return read(self.path(name))
        except FileNotFoundError:
            return None

    def checked(self, name: str) -> bool:
        """True once :meth:`mark_checked` said this file's content matches its name."""
        return name in self._checked

    def mark_checked(self, name: str) -> None:
        self._checked.add(name)

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
    return parse(content, path)


def unreadable(path: Path, error: OSError) -> RecordingError:
    return RecordingError(f"llmtape: cannot read the recording ({error})", path=path)
