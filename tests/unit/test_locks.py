"""Recording locks: exclusive, bounded waits, an event loop that keeps running, no files left behind."""

from __future__ import annotations

import asyncio
import gc
import itertools
import threading
import time
from pathlib import Path

import pytest

from llmtape import LockTimeout
from llmtape.locks import KeyLock, lock_folder


def test_a_lock_excludes_a_second_holder_until_released_and_leaves_no_file(tmp_path: Path) -> None:
    first, second = KeyLock(tmp_path, "abc"), KeyLock(tmp_path, "abc")
    assert first.try_acquire()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()
    assert list(lock_folder(tmp_path).iterdir()) == []


def test_release_is_safe_to_repeat(tmp_path: Path) -> None:
    lock = KeyLock(tmp_path, "abc")
    lock.acquire()
    lock.release()
    lock.release()
    assert not lock.held


def test_a_wait_that_runs_out_raises_naming_the_recording_and_the_lock(tmp_path: Path) -> None:
    holder = KeyLock(tmp_path, "abc")
    holder.acquire()
    with pytest.raises(LockTimeout) as raised:
        KeyLock(tmp_path, "abc").acquire(seconds=0.2)
    message = str(raised.value)
    assert "has been recording this request for 0.2 s" in message
    assert f"file: {tmp_path / 'abc.json'}" in message
    assert "fix: let the other test run finish" in message
    holder.release()


def test_a_lock_dropped_without_release_is_freed_by_garbage_collection(tmp_path: Path) -> None:
    lost = KeyLock(tmp_path, "abc")
    lost.acquire()
    del lost
    gc.collect()
    assert KeyLock(tmp_path, "abc").try_acquire()


def test_an_async_wait_lets_the_event_loop_run(tmp_path: Path) -> None:
    holder = KeyLock(tmp_path, "abc")
    holder.acquire()
    threading.Timer(0.5, holder.release).start()
    ticks: list[float] = []

    async def heartbeat() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    async def main() -> None:
        beat = asyncio.create_task(heartbeat())
        waiter = KeyLock(tmp_path, "abc")
        await waiter.aacquire(seconds=5)
        beat.cancel()
        waiter.release()

    asyncio.run(main())
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 20  # the loop went on beating while the lock was awaited
    assert max(gaps) < 0.25


def test_a_waiter_that_locked_a_file_its_holder_deleted_tries_again(tmp_path: Path) -> None:
    # Given a holder, and a waiter that opened the same lock file before the holder let go
    holder, waiter, newcomer = (KeyLock(tmp_path, "abc") for _ in range(3))
    holder.acquire()
    results: list[bool] = []
    thread = threading.Thread(target=lambda: results.append(waiter.acquire(seconds=5) is None))
    thread.start()
    time.sleep(0.1)
    # When the holder releases (deleting the file) and a newcomer locks a fresh file
    holder.release()
    thread.join()
    # Then only one of the two holds the lock at any time
    assert results == [True]
    assert not newcomer.try_acquire()
    waiter.release()
    assert newcomer.try_acquire()
    newcomer.release()
