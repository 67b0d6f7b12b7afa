"""The recordings directory: one ``<key>.json`` file per request, written atomically."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from llmtape.errors import RecordingError
from llmtape.recording import dumps

# A miss looks for the closest recording; in a huge directory it stops looking after this.
CLOSEST_SEARCH_SECONDS = 2.0
CLOSEST_SEARCH_FILES = 5000


class Store:
    """Reads and writes recordings in one directory; parsed recordings are cached."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._cache: dict[str, dict[str, Any]] = {}

    def path(self, key: str) -> Path:
        """Where the recording of ``key`` lives, whether or not it exists."""
        return self.directory / f"{key}.json"

    def load(self, key: str) -> dict[str, Any] | None:
        """The recording of ``key``, or None when there is none."""
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        path = self.path(key)
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            return None
        recording = parse(content, path)
        self._cache[key] = recording
        return recording

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
        self._cache[key] = recording
        return path

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
