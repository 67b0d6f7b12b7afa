"""The pace of a replay, computed from a recording's timing, and the rule that a re-recording differing
only in timing leaves the file as it was."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmtape.format.recording import StoredResponse, new_recording, new_request
from llmtape.replay import PiecesStream
from llmtape.store import Store
from llmtape.timing import Pace, pace, untimed

CHUNK = {"__type__": "json", "__data__": {"x": 1}}


def streamed(times: list[int | None], headers_ms: int = 100, done_ms: int = 500) -> StoredResponse:
    chunks: list[Any] = [{**CHUNK, "__ms__": at} if at is not None else dict(CHUNK) for at in times]
    return {
        "status": 200,
        "headers": {"content-type": "text/event-stream"},
        "is_streaming": True,
        "body": chunks,
        "timing": {"headers_ms": headers_ms, "done_ms": done_ms},
    }


def test_each_piece_is_due_at_its_recorded_time_after_the_headers_divided_by_the_speed() -> None:
    paced = Pace(2, None, httpx.ReadTimeout)
    response = streamed([300, 340, 460])
    assert paced.before_headers(response) == pytest.approx(0.05)
    # three chunks, then the [DONE] piece at the end of the stream
    assert paced.due(response, 4) == pytest.approx([0.1, 0.12, 0.18, 0.2])


def test_a_chunk_without_a_time_does_not_wait_and_a_plain_answer_waits_until_it_was_done() -> None:
    paced = Pace(1, None, httpx.ReadTimeout)
    assert paced.due(streamed([None, 200]), 2) == pytest.approx([0.0, 0.1])
    plain: StoredResponse = {"status": 200, "headers": {}, "is_streaming": False, "body": None}
    assert paced.before_headers(plain) == 0
    assert paced.before_headers({**plain, "timing": {"headers_ms": 20, "done_ms": 700}}) == pytest.approx(0.7)


def test_instant_replay_has_no_pace_and_the_read_timeout_comes_from_the_request() -> None:
    request = httpx.Request("POST", "http://h/v1/chat/completions", extensions={"timeout": {"read": 2.5}})
    assert pace(request, 0, httpx.ReadTimeout) is None
    paced = pace(request, 4, httpx.ReadTimeout)
    assert paced is not None
    assert paced.read_timeout == 2.5
    assert pace(httpx.Request("GET", "http://h/"), 1, httpx.ReadTimeout).read_timeout is None  # type: ignore[union-attr]


def test_a_wait_longer_than_the_read_timeout_waits_the_timeout_then_fails_sync_and_async() -> None:
    paced = Pace(1, 0.05, httpx.ReadTimeout)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout, match=r"later than the read timeout of 0\.05 s"):
        paced.wait(10)
    assert 0.05 <= time.monotonic() - started < 5
    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(paced.await_(10))
    paced.wait(0.01)  # shorter than the timeout: only waits


def test_a_recording_that_differs_only_in_timing_leaves_the_file_as_it_is(tmp_path: Path) -> None:
    request = new_request("POST", "http://h/v1/chat/completions", "/v1/chat/completions", {}, {"model": "m"})
    store = Store(tmp_path)
    first = new_recording(request, streamed([300, 340]))
    path = store.save("abc", first)
    before = path.read_bytes()
    store.save("abc", new_recording(request, streamed([310, 390], headers_ms=120, done_ms=700)))
    assert path.read_bytes() == before
    changed = streamed([310, 390])
    changed["body"][0] = {**CHUNK, "__data__": {"x": 2}, "__ms__": 310}
    store.save("abc", new_recording(request, changed))
    assert path.read_bytes() != before
    assert untimed(new_recording(request, changed))["response"]["body"][0] == {**CHUNK, "__data__": {"x": 2}}


def test_a_caller_slower_than_the_recording_is_never_made_to_wait_more() -> None:
    # A caller that spends 50 ms on each chunk of a stream whose chunks came 20 ms apart: each piece is
    # already due when it asks, so the replay takes the caller's time, not the caller's plus the gaps
    response = streamed([120, 140, 160, 180], headers_ms=100, done_ms=180)
    stream = PiecesStream([b"a", b"b", b"c", b"d"], pace=Pace(1, None, httpx.ReadTimeout)).paced(response)
    started = time.monotonic()
    for _ in stream:
        time.sleep(0.05)
    assert time.monotonic() - started < 0.2 + 0.08 * 2  # 4 x 50 ms, and not 4 x (50 + 20) ms


def test_a_wait_however_long_it_was_recorded_is_capped() -> None:
    assert Pace(1e-9, None, httpx.ReadTimeout).before_headers(streamed([1], done_ms=10**12)) == 3600


def test_timing_added_or_dropped_and_values_equal_only_in_python_are_written(tmp_path: Path) -> None:
    request = new_request("POST", "http://h/v1/chat/completions", "/v1/chat/completions", {}, {"model": "m"})
    store = Store(tmp_path)
    untimed_answer: Any = {k: v for k, v in streamed([300]).items() if k != "timing"}
    untimed_answer["body"] = [dict(CHUNK)]
    path = store.save("abc", new_recording(request, untimed_answer))
    # A re-recording with timing, where there was none, is written
    store.save("abc", new_recording(request, streamed([300])))
    assert b'"timing"' in path.read_bytes()
    # An answer whose numbers changed type (1 became 1.0, true became 1) is another answer
    before = streamed([300])
    before["body"][0] = {**CHUNK, "__data__": [1, 0, True], "__ms__": 300}
    store.save("abc", new_recording(request, before))
    after = streamed([310])
    after["body"][0] = {**CHUNK, "__data__": [1.0, -0.0, 1], "__ms__": 310}
    store.save("abc", new_recording(request, after))
    assert b"1.0" in path.read_bytes()
