"""The README's promise, run as a new user would: record once against a server, replay with it gone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, Server

BLOCK_SOCKETS = """
import socket

attempts = []


def refuse(sock, address):
    attempts.append(address)
    raise ConnectionRefusedError(address)


def pytest_configure(config):
    socket.socket.connect = refuse


def pytest_unconfigure(config):
    print(f"connection attempts: {len(attempts)}")
"""


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"```python\n(import os\n.*?)```", readme, re.DOTALL)
    assert match, "README has no example test"
    return match.group(1)


def test_readme_example_is_the_tested_example() -> None:
    assert readme_example() == (ROOT / "tests" / "examples" / "test_readme_example.py").read_text()


def test_record_with_a_server_then_replay_offline_without_a_key(
    pytester: pytest.Pytester, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_example=readme_example())
    # Record against a local OpenAI-compatible server.
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    key = "sk-" + "local-test-key-" * 3  # built here so no key-shaped literal sits in the repo
    monkeypatch.setenv("OPENAI_API_KEY", key)
    recorded = pytester.runpytest_subprocess("--record")
    recorded.assert_outcomes(passed=1)
    recorded.stdout.fnmatch_lines(["llmtape: 0 replayed, 1 recorded, 0 missing"])
    (recording,) = Path(pytester.path, "recordings").glob("*.json")
    assert "local-test-key" not in recording.read_text()
    # Replay with the server gone, no key, no base URL (the SDK would go to api.openai.com),
    # and every socket connection refused and counted.
    server.stop()
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.delenv("OPENAI_API_KEY")
    pytester.makeconftest(BLOCK_SOCKETS)
    replayed = pytester.runpytest_subprocess("-s")
    replayed.assert_outcomes(passed=1)
    replayed.stdout.fnmatch_lines(["llmtape: 1 replayed, 0 recorded, 0 missing", "connection attempts: 0"])
