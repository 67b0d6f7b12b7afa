"""The four modes, chosen by --record, --llmtape-mode, LLMTAPE_MODE or the ini key."""

from __future__ import annotations

import pytest

from tests.plugin.conftest import Project


def test_replay_is_the_default_and_a_miss_fails_without_touching_the_server(project: Project) -> None:
    result = project.pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*llmtape: no recording for POST *", "llmtape: 0 replayed, 0 recorded, 1 missing"]
    )
    assert project.server.served() == 0
    assert project.files() == []


def test_record_saves_missing_calls_and_later_runs_replay_them(project: Project) -> None:
    # Given a recorded run
    first = project.pytester.runpytest("--record")
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(["llmtape: 0 replayed, 1 recorded, 0 missing"])
    assert project.server.served() == 1
    # When the suite runs again in the default mode, and again with --record
    again = project.pytester.runpytest()
    recorded_again = project.pytester.runpytest("--record")
    # Then both replay and the server sees nothing more
    again.assert_outcomes(passed=1)
    again.stdout.fnmatch_lines(["llmtape: 1 replayed, 0 recorded, 0 missing"])
    recorded_again.stdout.fnmatch_lines(["llmtape: 1 replayed, 0 recorded, 0 missing"])
    assert project.server.served() == 1
    assert len(project.files()) == 1


def test_rewrite_records_every_call_again(project: Project) -> None:
    project.pytester.runpytest("--record").assert_outcomes(passed=1)
    (before,) = project.files()
    result = project.pytester.runpytest("--llmtape-mode=rewrite")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["llmtape: 0 replayed, 1 recorded, 0 missing"])
    (after,) = project.files()
    assert project.server.served() == 2
    # The server made up a new id; the recording keeps its stable one, and is otherwise the same answer
    assert after == before


def test_live_calls_the_api_and_writes_nothing(project: Project) -> None:
    result = project.pytester.runpytest("--llmtape-mode", "live")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["llmtape: 0 replayed, 0 recorded, 0 missing, 1 live"])
    assert project.server.served() == 1
    assert project.files() == []


def test_environment_variable_selects_the_mode(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMTAPE_MODE", "record")
    project.pytester.runpytest().stdout.fnmatch_lines(["llmtape: 0 replayed, 1 recorded, 0 missing"])


def test_ini_selects_the_mode(project: Project) -> None:
    project.pytester.makeini("[pytest]\nllmtape_mode = record\n")
    project.pytester.runpytest().stdout.fnmatch_lines(["llmtape: 0 replayed, 1 recorded, 0 missing"])


def test_command_line_beats_environment_beats_ini(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.pytester.makeini("[pytest]\nllmtape_mode = record\n")
    monkeypatch.setenv("LLMTAPE_MODE", "live")
    project.pytester.runpytest().stdout.fnmatch_lines(["*, 1 live"])
    project.pytester.runpytest("--llmtape-mode=replay").stdout.fnmatch_lines(["*1 missing"])
    assert project.files() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--llmtape-mode=replay-all"],
            "ERROR: llmtape: --llmtape-mode is 'replay-all'; "
            "use one of: replay, record, rewrite, live, drift",
        ),
        (
            ["--record", "--llmtape-mode=live"],
            "ERROR: llmtape: --record conflicts with --llmtape-mode=live; pass only one of them",
        ),
    ],
)
def test_a_bad_mode_is_a_usage_error_in_one_line(project: Project, args: list[str], message: str) -> None:
    result = project.pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.lines


def test_a_bad_mode_in_the_environment_is_a_usage_error(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMTAPE_MODE", "sometimes")
    result = project.pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: llmtape: the environment variable LLMTAPE_MODE is 'sometimes'; use one of: *"]
    )


def test_rewrite_records_each_request_once_per_session(project: Project) -> None:
    # Two tests send the same first request; the second must see what the first recorded,
    # or a conversation continued from it would no longer match its recordings.
    project.pytester.makepyfile(
        test_twice="""
from test_chat import chat


def test_first():
    chat("same")


def test_second():
    chat("same")
"""
    )
    project.pytester.runpytest("--record", "test_twice.py").assert_outcomes(passed=2)
    result = project.pytester.runpytest("--llmtape-mode=rewrite", "test_twice.py")
    result.stdout.fnmatch_lines(["llmtape: 1 replayed, 1 recorded, 0 missing"])
    assert project.server.served() == 2


PAGES_TEST = """
import os

import httpx
import pytest


@pytest.mark.parametrize("query", ["after=page2", "limit=1"])
def test_page(query):
    with httpx.Client(base_url=os.environ["LLM_BASE_URL"]) as client:
        assert client.get("/models?" + query).json()["query"] == query
"""


def test_bodyless_requests_differing_in_their_query_get_their_own_recordings(project: Project) -> None:
    project.pytester.makepyfile(test_pages=PAGES_TEST)
    project.pytester.runpytest("--record", "test_pages.py").assert_outcomes(passed=2)
    assert sorted(f["request"]["url"].split("?")[1] for f in project.files()) == ["after=page2", "limit=1"]
    served = project.server.served()
    project.pytester.runpytest("test_pages.py").assert_outcomes(passed=2)
    assert project.server.served() == served
