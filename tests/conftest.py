"""Fixtures shared by the test suites: a live OpenAI-compatible server and a socket guard."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    """A real server process on 127.0.0.1."""

    process: subprocess.Popen[str]
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def served(self) -> int:
        """How many API requests the server has answered."""
        return int(httpx.get(f"http://127.0.0.1:{self.port}/stats").json()["served"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()


def start_server(*args: str, module: str = "tests.servers.openai_server") -> Server:
    """Start the stand-in server ``module`` (a ``python -m`` module that prints ``PORT <n>``)."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("PORT "), f"server did not start: {line!r}"
    return Server(process, int(line.split()[1]))


@pytest.fixture
def server() -> Iterator[Server]:
    """A fresh OpenAI-compatible server process for this test, stopped afterwards."""
    live = start_server()
    yield live
    live.stop()


@dataclass
class NetworkGuard:
    """Once blocked, refuses every outgoing socket connection and remembers the attempt."""

    monkeypatch: pytest.MonkeyPatch
    attempts: list[object] = field(default_factory=list)

    def block(self) -> None:
        def refuse(sock: socket.socket, address: object) -> None:
            self.attempts.append(address)
            raise ConnectionRefusedError(f"network blocked in this test: {address}")

        self.monkeypatch.setattr(socket.socket, "connect", refuse)
        self.monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> NetworkGuard:
    """A guard that, once ``block()``ed, refuses and records socket connections."""
    return NetworkGuard(monkeypatch)
