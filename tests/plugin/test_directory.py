"""Where recordings go: recordings/ under the rootdir, --llmtape-dir, ini llmtape_dir, the marker."""

from __future__ import annotations

from tests.plugin.conftest import Project


def test_default_directory_is_recordings_under_the_rootdir(project: Project) -> None:
    project.pytester.makeini("[pytest]\n")
    sub = project.pytester.mkdir("sub")
    (project.pytester.path / "test_chat.py").rename(sub / "test_chat.py")
    project.pytester.runpytest("--record", "sub").assert_outcomes(passed=1)
    assert len(project.files()) == 1
    assert not (sub / "recordings").exists()


def test_command_line_directory_is_relative_to_where_pytest_runs(project: Project) -> None:
    result = project.pytester.runpytest("--record", "--llmtape-dir", "cassettes/llm")
    result.assert_outcomes(passed=1)
    assert len(project.files(project.pytester.path / "cassettes" / "llm")) == 1
    assert project.files() == []
    # The miss command repeats the directory option.
    project.pytester.makepyfile(
        test_chat=(project.pytester.path / "test_chat.py").read_text().replace("hello", "bye")
    )
    miss = project.pytester.runpytest("--llmtape-dir", "cassettes/llm")
    miss.stdout.fnmatch_lines(
        ["  to record it: pytest --record --llmtape-dir cassettes/llm test_chat.py::test_chat"]
    )


def test_ini_directory_is_relative_to_the_rootdir(project: Project) -> None:
    project.pytester.makeini("[pytest]\nllmtape_dir = tests/recorded\n")
    project.pytester.runpytest("--record").assert_outcomes(passed=1)
    assert len(project.files(project.pytester.path / "tests" / "recorded")) == 1


def test_command_line_directory_beats_the_ini(project: Project) -> None:
    project.pytester.makeini("[pytest]\nllmtape_dir = from-ini\n")
    project.pytester.runpytest("--record", "--llmtape-dir=from-cli").assert_outcomes(passed=1)
    assert len(project.files(project.pytester.path / "from-cli")) == 1
    assert not (project.pytester.path / "from-ini").exists()


def test_marker_directory_applies_to_that_test_only(project: Project) -> None:
    project.pytester.makepyfile(
        test_marked="""
import pytest

from test_chat import chat


@pytest.mark.llmtape(dir="special")
def test_special():
    assert chat("special").startswith("You said: special")
"""
    )
    project.pytester.runpytest("--record").assert_outcomes(passed=2)
    assert [
        f["request"]["body"]["messages"][0]["content"]
        for f in project.files(project.pytester.path / "special")
    ] == ["special"]
    assert [f["request"]["body"]["messages"][0]["content"] for f in project.files()] == ["hello"]
