"""The recording lifecycle (lock, live call, tee, save, release) with a stand-in for the caller's
transport: no server, no sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from llmtape import locks
from llmtape.carry import ahandle, handle
from llmtape.config import Mode
from llmtape.context import Options
from llmtape.locks import KeyLock, lock_folder
from llmtape.tape import Outcome, Tape

URL = "http://api.test/v1/chat/completions"
EVENTS = [f'data: {{"n": {n}}}\n\n'.encode() for n in range(4)] + [b"data: [DONE]\n\n"]


class Upstream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The body the caller's transport received: counts what was read, can break after some pieces."""

    def __init__(self, pieces: list[bytes], break_after: int | None = None) -> None:
        self.pieces, self.break_after = pieces, break_after
        self.read, self.closed = 0, False

    def _next(self) -> Iterator[bytes]:
        for index, piece in enumerate(self.pieces):
            if index == self.break_after:
                raise httpx.RemoteProtocolError("peer closed connection")
            self.read += 1
            yield piece

    def __iter__(self) -> Iterator[bytes]:
        yield from self._next()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._next():
            yield piece

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def request() -> httpx.Request:
    return httpx.Request("POST", URL, json={"model": "m", "stream": True})


def upstream_response(req: httpx.Request, stream: Upstream) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream, request=req)


def new_tape(directory: Path, mode: Mode = Mode.RECORD) -> Tape:
    return Tape(Options(mode=mode, directory=directory))


def stored(directory: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in directory.glob("*.json")]


def test_a_plain_answer_is_sent_once_stored_and_its_lock_released(tmp_path: Path) -> None:
    tape, req, sent = new_tape(tmp_path), request(), []

    def send(live: httpx.Request) -> httpx.Response:
        sent.append(1)
        return httpx.Response(200, json={"object": "chat.completion", "id": "x"}, request=req)

    answer = handle(tape, req, send)
    assert answer is not None
    assert answer.read() == b'{"object":"chat.completion","id":"x"}'
    assert sent == [1]
    assert [c.outcome for c in tape.calls] == [Outcome.RECORDED]
    assert len(stored(tmp_path)) == 1
    assert list(lock_folder(tmp_path).iterdir()) == []


def test_a_failing_live_call_releases_the_lock_and_stores_nothing(tmp_path: Path) -> None:
    tape, req = new_tape(tmp_path), request()

    def send(live: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(httpx.ConnectError):
        handle(tape, req, send)
    assert tape.calls == []
    assert stored(tmp_path) == []
    assert KeyLock(tmp_path, tape.receive(req).key).try_acquire()


def test_a_stream_closed_early_is_read_to_its_end_and_stored_whole(tmp_path: Path) -> None:
    tape, req, upstream = new_tape(tmp_path), request(), Upstream(EVENTS)
    answer = handle(tape, req, lambda _: upstream_response(req, upstream))
    assert answer is not None
    first = next(answer.iter_raw())  # the caller reads one event, then lets go
    answer.close()
    assert first == b'data: {"n":0}\n\n'
    assert (upstream.read, upstream.closed) == (len(EVENTS), True)
    (recording,) = stored(tmp_path)
    assert [c["__data__"] for c in recording["response"]["body"]] == [{"n": n} for n in range(4)]  # type: ignore[index]
    assert recording["response"]["sse_done"] is True  # type: ignore[index]
    assert [c.outcome for c in tape.calls] == [Outcome.RECORDED]
    assert list(lock_folder(tmp_path).iterdir()) == []


def test_a_stream_never_closed_is_finished_when_the_test_ends(tmp_path: Path) -> None:
    tape, req, upstream = new_tape(tmp_path), request(), Upstream(EVENTS)
    answer = handle(tape, req, lambda _: upstream_response(req, upstream))
    assert answer is not None
    pieces = answer.iter_raw()
    next(pieces), next(pieces)  # read two events, never close
    assert stored(tmp_path) == []
    tape.finish()
    assert upstream.read == len(EVENTS)
    assert len(stored(tmp_path)[0]["response"]["body"]) == 4  # type: ignore[index, arg-type]
    assert list(lock_folder(tmp_path).iterdir()) == []


def test_a_stream_that_breaks_is_kept_as_far_as_it_came_and_releases_its_lock(tmp_path: Path) -> None:
    tape, req, upstream = new_tape(tmp_path), request(), Upstream(EVENTS, break_after=2)
    answer = handle(tape, req, lambda _: upstream_response(req, upstream))
    assert answer is not None
    with pytest.raises(httpx.RemoteProtocolError):
        answer.read()
    (recording,) = stored(tmp_path)
    assert len(recording["response"]["body"]) == 2  # type: ignore[index, arg-type]
    assert recording["response"]["incomplete"]["error"] == "RemoteProtocolError"  # type: ignore[index]
    assert list(lock_folder(tmp_path).iterdir()) == []


def test_an_async_stream_left_unread_is_finished_when_its_loop_shuts_down(tmp_path: Path) -> None:
    tape, req, upstream = new_tape(tmp_path), request(), Upstream(EVENTS)

    async def send(live: httpx.Request) -> httpx.Response:
        return upstream_response(req, upstream)

    async def main() -> None:
        answer = await ahandle(tape, req, send)
        assert answer is not None
        pieces = answer.aiter_raw()
        await anext(pieces)  # one event read; the stream is neither read on nor closed

    asyncio.run(main())
    assert upstream.read == len(EVENTS)
    assert len(stored(tmp_path)[0]["response"]["body"]) == 4  # type: ignore[index, arg-type]
    assert list(lock_folder(tmp_path).iterdir()) == []


def test_a_lock_held_too_long_fails_the_call_without_sending_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(locks, "WAIT_SECONDS", 0.2)
    tape, req = new_tape(tmp_path), request()
    holder = KeyLock(tmp_path, tape.receive(req).key)
    holder.acquire()
    tape = new_tape(tmp_path)

    def send(live: httpx.Request) -> httpx.Response:
        raise AssertionError("sent without the lock")

    answer = handle(tape, req, send)
    holder.release()
    assert answer is not None
    assert answer.status_code == 500
    assert "has been recording this request for 0.2 s" in answer.json()["error"]["message"]
    assert [c.outcome for c in tape.calls] == [Outcome.FAILED]


def test_rewrite_mode_replaces_a_damaged_recording(tmp_path: Path) -> None:
    tape, req = new_tape(tmp_path, Mode.REWRITE), request()
    damaged = tmp_path / f"{tape.receive(req).key}.json"
    damaged.write_text('{"request": ')
    tape = new_tape(tmp_path, Mode.REWRITE)
    answer = handle(tape, req, lambda _: httpx.Response(200, json={"object": "chat.completion"}, request=req))
    assert answer is not None
    assert answer.status_code == 200
    assert json.loads(damaged.read_text())["response"]["status"] == 200
    assert list(lock_folder(tmp_path).iterdir()) == []


def test_a_stream_cancelled_while_its_rest_is_read_lets_its_lock_go(tmp_path: Path) -> None:
    tape, req = new_tape(tmp_path), request()

    class Cancelled(Upstream):
        def _next(self) -> Iterator[bytes]:
            yield self.pieces[0]
            raise KeyboardInterrupt  # a BaseException arriving mid-read

    answer = handle(tape, req, lambda _: upstream_response(req, Cancelled(EVENTS)))
    assert answer is not None
    next(answer.iter_raw())
    with pytest.raises(KeyboardInterrupt):
        answer.close()
    assert stored(tmp_path) == []
    assert [c.outcome for c in tape.calls] == [Outcome.FAILED]
    assert list(lock_folder(tmp_path).iterdir()) == []


def test_live_mode_sends_a_request_it_cannot_key_as_it_is(tmp_path: Path) -> None:
    tape = new_tape(tmp_path, Mode.LIVE)
    upload = httpx.Request("POST", URL, content=b"not json")
    assert handle(tape, upload, lambda _: pytest.fail("live mode sends it itself")) is None
