"""Unused recordings: reported after a complete run, pruned only after a complete, passing one."""

from __future__ import annotations

import json
import shutil

from tests.plugin.conftest import Project

TWO = """
from test_chat import chat


def test_one():
    chat("one")


def test_two():
    chat("two")
"""


def record_two(project: Project) -> None:
    """Make the project two tests (the chat helper moved out of test files) and record them."""
    (project.pytester.path / "test_chat.py").rename(project.pytester.path / "conftest_chat.py")
    project.pytester.makepyfile(test_two=TWO.replace("from test_chat import", "from conftest_chat import"))
    project.pytester.runpytest("--record").assert_outcomes(passed=2)


def test_a_complete_run_lists_unused_recordings_and_prune_deletes_them(project: Project) -> None:
    record_two(project)
    extra = project.recordings / ("f" * 64 + ".json")
    shutil.copy(sorted(project.recordings.glob("*.json"))[0], extra)
    listed = project.pytester.runpytest()
    listed.stdout.fnmatch_lines(
        ["llmtape: 1 unused recordings:", f"  recordings/{extra.name}", "llmtape: delete them with*"]
    )
    usage = json.loads((project.pytester.path / ".pytest_cache/v/llmtape/usage").read_text())
    assert usage["complete"] is True
    assert usage["passed"] is True
    assert len(next(iter(usage["directories"].values()))) == 2
    pruned = project.pytester.runpytest("--llmtape-prune")
    pruned.stdout.fnmatch_lines(["llmtape: pruned 1 unused recordings"])
    assert not extra.exists()
    assert len(list(project.recordings.glob("*.json"))) == 2


def test_a_partial_run_cannot_tell_and_prunes_nothing(project: Project) -> None:
    record_two(project)
    for args, reason in [
        (["-k", "one"], "1 tests were deselected"),
        (["test_two.py::test_one"], "tests were selected on the command line"),
    ]:
        result = project.pytester.runpytest("--llmtape-prune", *args)
        result.stdout.fnmatch_lines([f"llmtape: cannot tell which recordings are unused: {reason}"])
        assert len(list(project.recordings.glob("*.json"))) == 2


def test_a_failing_run_prunes_nothing(project: Project) -> None:
    record_two(project)
    shutil.copy(sorted(project.recordings.glob("*.json"))[0], project.recordings / ("f" * 64 + ".json"))
    project.pytester.makepyfile(test_fail="def test_fail():\n    assert False\n")
    result = project.pytester.runpytest("--llmtape-prune")
    result.stdout.fnmatch_lines(["llmtape: --llmtape-prune deleted nothing: the run did not pass"])
    assert len(list(project.recordings.glob("*.json"))) == 3


def test_xdist_workers_report_what_they_used(project: Project) -> None:
    record_two(project)
    extra = project.recordings / ("f" * 64 + ".json")
    shutil.copy(sorted(project.recordings.glob("*.json"))[0], extra)
    result = project.pytester.runpytest_subprocess("-n", "2", "--llmtape-prune")
    result.stdout.fnmatch_lines(
        ["llmtape: 2 replayed, 0 recorded, 0 missing", "llmtape: pruned 1 unused recordings"]
    )
    assert not extra.exists()
