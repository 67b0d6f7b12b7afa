"""The llmtape fixture: the calls of the current test and their outcomes."""

from __future__ import annotations

from tests.plugin.conftest import Project

FIXTURE_TEST = """
from test_chat import chat


def test_calls(llmtape):
    chat("one")
    chat("two", stream=True)
    assert [(c.method, c.endpoint, c.model, c.outcome) for c in llmtape.calls] == [
        ("POST", "/v1/chat/completions", "gpt-4o", EXPECTED),
        ("POST", "/v1/chat/completions", "gpt-4o", EXPECTED),
    ]
    assert all(c.path.name == c.key + ".json" for c in llmtape.calls)
    assert llmtape.counts()[EXPECTED] == 2
    assert llmtape.mode == MODE


def test_calls_are_per_test(llmtape):
    assert llmtape.calls == []
"""


def test_fixture_reports_recorded_then_replayed_calls(project: Project) -> None:
    project.pytester.makepyfile(
        test_uses_llmtape=FIXTURE_TEST.replace("EXPECTED", '"recorded"').replace("MODE", '"record"')
    )
    project.pytester.runpytest("--record", "test_uses_llmtape.py").assert_outcomes(passed=2)
    project.pytester.makepyfile(
        test_uses_llmtape=FIXTURE_TEST.replace("EXPECTED", '"replayed"').replace("MODE", '"replay"')
    )
    project.pytester.runpytest("test_uses_llmtape.py").assert_outcomes(passed=2)


def test_fixture_is_documented(project: Project) -> None:
    result = project.pytester.runpytest("--fixtures")
    result.stdout.fnmatch_lines(["llmtape -- *", "    The llmtape tape of this test*"])
