"""Record a client's calls against the live server, then replay them with the server gone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import llmtape
from tests.conftest import NetworkGuard, Server

T = TypeVar("T")


def run(call: Callable[[], T | Awaitable[T]]) -> T:
    result = call()
    return asyncio.run(result) if asyncio.iscoroutine(result) else result  # type: ignore[return-value]


def round_trip(server: Server, directory: Path, network: NetworkGuard, call: Callable[[], Any]) -> Any:
    """The result ``call`` gave while recording, after checking that replay gives the same offline."""
    with llmtape.tape(directory, mode="record") as recording:
        recorded = run(call)
    # A request sent twice is recorded once and replayed the second time.
    assert llmtape.Outcome.RECORDED in {c.outcome for c in recording.calls}
    assert {c.outcome for c in recording.calls} <= {llmtape.Outcome.RECORDED, llmtape.Outcome.REPLAYED}
    server.stop()
    network.block()
    with llmtape.tape(directory) as replay:
        replayed = run(call)
    assert replayed == recorded
    assert [c.outcome for c in replay.calls] == [llmtape.Outcome.REPLAYED] * len(recording.calls)
    assert network.attempts == []
    return recorded
