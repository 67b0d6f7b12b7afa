"""Cross-process locks, one per recording while it is being recorded, so parallel workers record it once.

A lock is an ``flock`` on a file under the system's temporary directory, never among the
recordings. The holder deletes the file when it lets go; a waiter that locked a file deleted
meanwhile notices (the path no longer names the inode it holds) and tries again. Waiting is
bounded: past the limit the caller gets :class:`LockTimeout`, never a call made without the lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import time
import weakref
from pathlib import Path

import anyio

from llmtape.errors import LockTimeout

WAIT_SECONDS = 120.0
POLL_SECONDS = 0.02


def lock_folder(directory: Path) -> Path:
    """Where the locks of one recordings directory live."""
    digest = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir(), f"llmtape-locks-{os.getuid()}", digest)


class KeyLock:
    """The exclusive lock on one recording; released by :meth:`release`, or when garbage collected."""

    def __init__(self, directory: Path, name: str) -> None:
        self.path = lock_folder(directory) / f"{name}.lock"
        self.recording = directory / f"{name}.json"
        self._fd: int | None = None
        self._closer: weakref.finalize | None = None  # type: ignore[type-arg]

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino != os.stat(self.path).st_ino:
                raise FileNotFoundError(self.path)  # its holder deleted it as we locked it
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)
            return False
        self._fd = fd
        self._closer = weakref.finalize(self, os.close, fd)
        return True

    def acquire(self, seconds: float | None = None) -> None:
        """Wait for the lock, blocking this thread, at most ``seconds`` (default WAIT_SECONDS)."""
        deadline = time.monotonic() + (WAIT_SECONDS if seconds is None else seconds)
        while not self.try_acquire():
            self._check(deadline, seconds)
            time.sleep(POLL_SECONDS)

    async def aacquire(self, seconds: float | None = None) -> None:
        """Wait for the lock without blocking the event loop."""
        deadline = time.monotonic() + (WAIT_SECONDS if seconds is None else seconds)
        while not self.try_acquire():
            self._check(deadline, seconds)
            await anyio.sleep(POLL_SECONDS)  # asyncio and trio alike

    def _check(self, deadline: float, seconds: float | None) -> None:
        if time.monotonic() > deadline:
            waited = WAIT_SECONDS if seconds is None else seconds
            raise LockTimeout(seconds=waited, path=str(self.recording), lock=str(self.path))

    def release(self) -> None:
        """Let go of the lock and delete its file; does nothing when not held."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        assert self._closer is not None
        self._closer.detach()
        self.path.unlink(missing_ok=True)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
