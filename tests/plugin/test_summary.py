"""The end-of-session summary line, also under pytest-xdist."""

from __future__ import annotations

from tests.plugin.conftest import Project

THREE_TESTS = """
from test_chat import chat


def test_one():
    chat("one")


def test_two():
    chat("two", stream=True)


def test_three():
    chat("three")
"""


def test_summary_counts_every_outcome(project: Project) -> None:
    project.pytester.makepyfile(test_three=THREE_TESTS)
    project.pytester.runpytest("--record", "test_three.py::test_one").assert_outcomes(passed=1)
    result = project.pytester.runpytest("--record", "test_three.py::test_one", "test_three.py::test_two")
    result.stdout.fnmatch_lines(["llmtape: 1 replayed, 1 recorded, 0 missing"])
    replay = project.pytester.runpytest("test_three.py")
    replay.stdout.fnmatch_lines(
        [
            "llmtape: 2 replayed, 0 recorded, 1 missing",
            "llmtape: run the failing tests again with --record to record the missing calls",
        ]
    )


def test_xdist_workers_counts_are_added_up(project: Project) -> None:
    project.pytester.makepyfile(test_three=THREE_TESTS)
    recorded = project.pytester.runpytest_subprocess("-n", "2", "--record", "test_three.py")
    recorded.assert_outcomes(passed=3)
    recorded.stdout.fnmatch_lines(["llmtape: 0 replayed, 3 recorded, 0 missing"])
    replayed = project.pytester.runpytest_subprocess("-n", "2", "test_three.py")
    replayed.stdout.fnmatch_lines(["llmtape: 3 replayed, 0 recorded, 0 missing"])
    assert len(project.files()) == 3
    assert not list(project.recordings.glob(".*"))


def test_marker_mistakes_stop_the_run_before_any_test(project: Project) -> None:
    project.pytester.makepyfile(
        test_bad="""
import pytest


def test_first():
    open("ran", "w").close()


@pytest.mark.llmtape(endpoints=["chat"])
def test_bad():
    pass
"""
    )
    result = project.pytester.runpytest("test_bad.py")
    assert result.ret == 4
    assert not (project.pytester.path / "ran").exists()
    result.stderr.fnmatch_lines(
        ["ERROR: llmtape: endpoint pattern 'chat' is not *(in the marker of test_bad.py::test_bad)"]
    )
