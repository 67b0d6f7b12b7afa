"""The recordings directory: one ``<key>.json`` file per request, read through the format's parser and
written atomically, and the ``files/`` folder of the sidecar files they name (``format/sidecar.py``).

Nothing parsed is kept: each replay reads its file once, and a parsed recording (hundreds of objects
for a stream) is freed as soon as its answer is built, instead of piling up for the garbage collector."""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import orjson

from llmtape.errors import RecordingError, shown
from llmtape.format import sidecar
from llmtape.format.recording import Recording, dumps, parse
from llmtape.locks import KeyLock
from llmtape.timing import untimed

# A miss looks for the closest recording; in a huge directory it stops looking after this.
CLOSEST_SEARCH_SECONDS = 2.0
CLOSEST_SEARCH_FILES = 5000
TEMP_SUFFIX = ".tmp"
# A temporary file no writer holds is left over from an interrupted write; past this age it is deleted.
LEFTOVER_SECONDS = 30.0


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
        except (FileNotFoundError, NotADirectoryError):  # a directory under a regular file holds nothing
            return None

    def checked(self, name: str) -> bool:
        """True once :meth:`mark_checked` said this file's content matches its name."""
        return name in self._checked

    def mark_checked(self, name: str) -> None:
        self._checked.add(name)

    def save(self, name: str, recording: Recording, files: Mapping[str, bytes] | None = None) -> Path:
        """Write a recording atomically, after the sidecar ``files`` it names: readers see the old file or
        the new one, never half, and never one without its sidecars. When the system refuses the write
        (a full disk, a read-only directory), :class:`RecordingError` says so. A recording that differs
        from the file already there only in the values of its timing leaves that file as it is: a
        re-recording changes only what the answer said (timing added or dropped is written)."""
        path, content = self.path(name), dumps(recording)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            sidecar.save(self.directory, files or {})
            if self._same_but_timing(name, recording):
                self.mark_checked(name)
                return path
            fd, temp = tempfile.mkstemp(dir=self.directory, prefix=f".{name[:16]}.", suffix=TEMP_SUFFIX)
        except OSError as error:
            raise not_written(path, error) from None
        try:
            with os.fdopen(fd, "wb") as handle:
                # Locked until it is in place, so that no clean-up takes it for a leftover meanwhile.
                fcntl.flock(fd, fcntl.LOCK_EX)
                handle.write(content)
                handle.flush()
                os.replace(temp, path)
        except BaseException as error:
            Path(temp).unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise not_written(path, error) from None
            raise
        self.mark_checked(name)
        return path

    def _same_but_timing(self, name: str, recording: Recording) -> bool:
        try:
            existing = self.load(name)
        except (RecordingError, OSError):
            return False
        if existing is None or ("timing" in existing["response"]) != ("timing" in recording["response"]):
            return False  # timing added or dropped (llmtape_timing) is a change to write
        return orjson.dumps(untimed(existing)) == orjson.dumps(untimed(recording))  # 1 and 1.0 differ

    def leftovers(self) -> list[Path]:
        """The temporary files that no writer holds: what writes cut off by a kill or a crash left behind."""
        if not self.directory.is_dir():
            return []
        return [path for path in sorted(self.directory.glob(f".*{TEMP_SUFFIX}")) if _abandoned(path)]

    def clean(self, min_age: float = LEFTOVER_SECONDS) -> list[Path]:
        """Delete the leftovers older than ``min_age`` seconds (a writer holds its file from a moment after
        creating it, so an old file nobody holds is nobody's); returns them."""
        if not self.directory.is_dir():
            return []
        deadline = time.time() - min_age
        temps = sorted(self.directory.glob(f".*{TEMP_SUFFIX}"))
        return [path for path in temps if modified(path) < deadline and _abandoned(path, delete=True)]

    def lock(self, name: str) -> KeyLock:
        """The (not yet taken) lock that keeps parallel workers from recording ``name`` twice."""
        return KeyLock(self.directory, name)

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
    """One recording file through the format's parser; FileNotFoundError (or NotADirectoryError, for a path
    under a regular file) when it is not there."""
    try:
        content = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise
    except OSError as error:
        raise unreadable(path, error) from None
    return parse(content, path)


def modified(path: Path) -> float:
    """When ``path`` was last written; infinitely late when it is gone or unreadable (so never judged old)."""
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")


def _abandoned(path: Path, *, delete: bool = False) -> bool:
    """True when no process holds ``path``'s lock (as :meth:`Store.save` does while it writes); with
    ``delete``, the file is deleted while the lock is held, so no writer can take it meanwhile."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:  # gone meanwhile, or another user's
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    try:
        if delete:
            path.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


def unreadable(path: Path, error: OSError) -> RecordingError:
    return RecordingError(f"llmtape: cannot read the recording ({error})", path=path)


def not_written(path: Path, error: OSError) -> RecordingError:
    return RecordingError(
        f"llmtape: could not write the recording into {shown(path.parent)} "
        f"({type(error).__name__}: {error}); the call was answered, but nothing was saved\n"
        "  fix: make room on its disk or make it writable, or record into another directory (--llmtape-dir)",
        path=path,
    )
