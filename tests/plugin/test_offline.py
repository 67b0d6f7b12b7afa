"""Replay is offline, provably: with every socket refused, hits pass and a miss fails cleanly."""

from __future__ import annotations

from tests.plugin.conftest import Project

HIT_AND_MISS = """
from test_chat import chat


def test_hit():
    assert chat("recorded").startswith("You said: recorded")


def test_miss():
    chat("never recorded")
"""


def test_with_sockets_disabled_only_the_miss_fails_and_it_fails_cleanly(project: Project) -> None:
    project.pytester.makepyfile(test_offline=HIT_AND_MISS)
    project.pytester.runpytest("--record", "test_offline.py::test_hit").assert_outcomes(passed=1)
    project.server.stop()
    result = project.pytester.runpytest_subprocess("--disable-socket", "test_offline.py")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*llmtape: no recording for POST *", "llmtape: 1 replayed, 0 recorded, 1 missing"]
    )
    output = result.stdout.str()
    assert "SocketBlockedError" not in output
    assert "Connection error" not in output
