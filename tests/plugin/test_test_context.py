"""Each test's options are its own: nothing of one test reaches a session fixture or the next test."""

from __future__ import annotations

import json

from tests.plugin.conftest import Project

SESSION_FIXTURE = """
import pytest

from test_chat import chat


@pytest.fixture(scope="session")
def session_chat():
    chat("from the session fixture's setup")
    yield
    chat("from the session fixture's teardown")
"""

TESTS = """
import pytest

from test_chat import chat


def test_first(session_chat):
    chat("first")


@pytest.mark.llmtape(dir="elsewhere", scope="test")
def test_last(session_chat):
    chat("last")


def test_after(session_chat):
    chat("after")
"""


def contents(project: Project, folder: str) -> dict[str, str | None]:
    found = {}
    for path in (project.pytester.path / folder).glob("*.json"):
        data = json.loads(path.read_text())
        found[data["request"]["body"]["messages"][0]["content"]] = data.get("test_id")
    return found


def test_a_session_fixture_and_later_tests_use_the_session_settings_not_a_marked_tests(
    project: Project,
) -> None:
    project.pytester.makeconftest(SESSION_FIXTURE)
    project.pytester.makepyfile(test_calls=TESTS)
    # test_last is marked, but it is not the last test: the session fixture ends after test_after.
    project.pytester.runpytest(
        "--record", "test_calls.py::test_first", "test_calls.py::test_last"
    ).assert_outcomes(passed=2)
    assert contents(project, "recordings") == {
        "from the session fixture's setup": None,
        "first": None,
        "from the session fixture's teardown": None,
    }
    assert contents(project, "elsewhere") == {"last": "test_calls.py::test_last"}
    project.pytester.runpytest("--record", "test_calls.py").assert_outcomes(passed=3)
    assert set(contents(project, "recordings")) == {
        "from the session fixture's setup",
        "first",
        "after",
        "from the session fixture's teardown",
    }
    replayed = project.pytester.runpytest("test_calls.py")
    replayed.assert_outcomes(passed=3)
    replayed.stdout.fnmatch_lines(["llmtape: 5 replayed, 0 recorded, 0 missing"])
