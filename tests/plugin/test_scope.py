"""The per-test scope: the test's node id is part of the key, so one request can have one answer per test."""

from __future__ import annotations

import pytest

from tests.plugin.conftest import Project

TWO_TESTS = """
import pytest

from test_chat import chat


def test_first():
    chat("same")


MARK
def test_second():
    chat("same")
"""


def recorded_tests(project: Project) -> list[object]:
    return sorted(str(f.get("test_id")) for f in project.files())


def test_ini_scope_test_keys_each_test_apart(project: Project) -> None:
    project.pytester.makeini("[pytest]\nllmtape_scope = test\n")
    project.pytester.makepyfile(test_twice=TWO_TESTS.replace("MARK", ""))
    project.pytester.runpytest("--record", "test_twice.py").stdout.fnmatch_lines(
        ["llmtape: 0 replayed, 2 recorded, 0 missing"]
    )
    assert recorded_tests(project) == ["test_twice.py::test_first", "test_twice.py::test_second"]
    assert project.server.served() == 2
    project.pytester.runpytest("test_twice.py").stdout.fnmatch_lines(
        ["llmtape: 2 replayed, 0 recorded, 0 missing"]
    )
    # A test's recording serves only that test: renamed, it misses.
    project.pytester.makepyfile(
        test_twice=TWO_TESTS.replace("MARK", "").replace("test_second", "test_renamed")
    )
    project.pytester.runpytest("test_twice.py").stdout.fnmatch_lines(
        ["llmtape: 1 replayed, 0 recorded, 1 missing"]
    )


def test_marker_scope_applies_to_one_test(project: Project) -> None:
    project.pytester.makepyfile(test_twice=TWO_TESTS.replace("MARK", '@pytest.mark.llmtape(scope="test")'))
    project.pytester.runpytest("--record", "test_twice.py").assert_outcomes(passed=2)
    assert recorded_tests(project) == ["None", "test_twice.py::test_second"]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("ini", "ERROR: llmtape: the ini option llmtape_scope is 'module'; use 'shared' or 'test'"),
        ("marker", "ERROR: llmtape: the marker option scope is 'module'; use 'shared' or 'test'*"),
    ],
)
def test_an_unknown_scope_is_a_usage_error(project: Project, where: str, message: str) -> None:
    if where == "ini":
        project.pytester.makeini("[pytest]\nllmtape_scope = module\n")
    else:
        project.pytester.makepyfile(
            test_twice=TWO_TESTS.replace("MARK", '@pytest.mark.llmtape(scope="module")')
        )
    result = project.pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
