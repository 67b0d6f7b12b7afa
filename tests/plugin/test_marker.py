"""The llmtape marker and the llmtape_autouse and llmtape_endpoints ini keys."""

from __future__ import annotations

import pytest

from tests.plugin.conftest import Project

MARKED = """
import pytest

from test_chat import chat


@pytest.mark.llmtape
def test_marked():
    assert chat("marked").startswith("You said: marked")


@pytest.mark.llmtape(enabled=False)
def test_disabled():
    assert chat("disabled").startswith("You said: disabled")
"""


def test_enabled_false_lets_the_call_through_untouched_even_in_replay(project: Project) -> None:
    project.pytester.makepyfile(test_marked=MARKED)
    result = project.pytester.runpytest("test_marked.py::test_disabled")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["llmtape: 0 replayed, 0 recorded, 0 missing"])
    assert project.server.served() == 1
    assert project.files() == []


def test_with_autouse_off_only_marked_tests_are_intercepted(project: Project) -> None:
    project.pytester.makeini("[pytest]\nllmtape_autouse = false\n")
    project.pytester.makepyfile(test_marked=MARKED)
    result = project.pytester.runpytest("--record")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["llmtape: 0 replayed, 1 recorded, 0 missing"])
    assert [f["request"]["body"]["messages"][0]["content"] for f in project.files()] == ["marked"]
    assert project.server.served() == 3


def test_requesting_the_fixture_opts_a_test_in(project: Project) -> None:
    project.pytester.makeini("[pytest]\nllmtape_autouse = false\n")
    project.pytester.makepyfile(
        test_uses_llmtape="""
from test_chat import chat


def test_with_fixture(llmtape):
    chat("via fixture")
    assert [c.outcome for c in llmtape.calls] == ["recorded"]
"""
    )
    project.pytester.runpytest("--record", "test_uses_llmtape.py").assert_outcomes(passed=1)
    assert len(project.files()) == 1


def test_ini_endpoints_add_to_the_defaults(project: Project) -> None:
    project.pytester.makeini("[pytest]\nllmtape_endpoints =\n    POST */v3/generate\n")
    project.pytester.makepyfile(
        test_more="""
import os

import httpx


def test_own_endpoint():
    url = os.environ["LLM_BASE_URL"].removesuffix("/v1") + "/v3/generate"
    httpx.post(url, json={"prompt": "hi"})
"""
    )
    result = project.pytester.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["llmtape: 0 replayed, 0 recorded, 2 missing"])
    assert project.server.served() == 0


def test_the_defaults_switched_off_leave_only_the_ini_endpoints(project: Project) -> None:
    project.pytester.makeini(
        "[pytest]\nllmtape_default_endpoints = false\nllmtape_endpoints =\n    POST */embeddings\n"
    )
    result = project.pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["llmtape: 0 replayed, 0 recorded, 0 missing"])
    assert project.server.served() == 1


def test_marker_endpoints_apply_to_that_test(project: Project) -> None:
    project.pytester.makepyfile(
        test_marked="""
import pytest

from test_chat import chat


@pytest.mark.llmtape(default_endpoints=False, endpoints=["POST */embeddings"])
def test_chat_not_intercepted():
    assert chat("free").startswith("You said: free")
"""
    )
    project.pytester.runpytest("test_marked.py").assert_outcomes(passed=1)
    assert project.server.served() == 1


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (
            'llmtape(mode="live")',
            "unknown llmtape marker option(s) ['mode']; "
            "use ['allow_secrets', 'default_endpoints', 'dir', 'enabled', 'endpoints', 'ignore', "
            "'normalizer', 'placeholders', 'scope', 'speed', 'stable_ids']",
        ),
        ('llmtape("x")', "the llmtape marker takes keyword arguments only"),
        ('llmtape(endpoints=["chat"])', "endpoint pattern 'chat' is not 'METHOD GLOB'"),
    ],
)
def test_marker_mistakes_are_reported_in_one_line(project: Project, marker: str, message: str) -> None:
    project.pytester.makepyfile(
        test_bad=f"""
import pytest


@pytest.mark.{marker}
def test_bad():
    pass
"""
    )
    result = project.pytester.runpytest("test_bad.py")
    assert result.ret != 0
    assert message in result.stdout.str() + result.stderr.str()


def test_bad_ini_endpoints_are_a_usage_error(project: Project) -> None:
    project.pytester.makeini("[pytest]\nllmtape_endpoints =\n    /v1/chat/completions\n")
    result = project.pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: llmtape: endpoint pattern '/v1/chat/completions' is not 'METHOD GLOB'*"]
    )
