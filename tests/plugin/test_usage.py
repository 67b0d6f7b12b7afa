"""Unused recordings: reported after a complete run, pruned only after a complete, passing one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.plugin.conftest import CHAT_TEST, Project

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
    assert usage["narrowed"] == []
    assert usage["passed"] is True
    assert usage["not_run"] == {}
    assert len(usage["used"]["recordings"]) == 2
    pruned = project.pytester.runpytest("--llmtape-prune")
    pruned.stdout.fnmatch_lines(["llmtape: pruned 1 unused recordings"])
    assert not extra.exists()
    assert len(list(project.recordings.glob("*.json"))) == 2


def test_a_partial_run_cannot_tell_and_prunes_nothing(project: Project) -> None:
    record_two(project)
    for args, reason in [
        (["-k", "one"], "1 test was deselected"),
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


# A test that did not run to its end keeps every recording it could use, whatever stopped it.
STOPPED = {
    "mark.skip": ("@pytest.mark.skip\ndef test_chat", "1 test was skipped (test_second.py::test_chat)"),
    "skipif": (
        "@pytest.mark.skipif(True, reason='not here')\ndef test_chat",
        "1 test was skipped (test_second.py::test_chat)",
    ),
    "pytest.skip()": (
        "def test_chat():\n    pytest.skip('later')\n\n\ndef unused",
        "1 test was skipped (test_second.py::test_chat)",
    ),
    "pytest.xfail()": (
        "def test_chat():\n    pytest.xfail('a bug')\n\n\ndef unused",
        "1 test xfailed (test_second.py::test_chat)",
    ),
    "importorskip": (
        "pytest.importorskip('no_such_module_anywhere')\n\n\ndef test_chat",
        "test_second.py was skipped at collection",
    ),
}


def chat_file(word: str) -> str:
    """A test module of its own: the chat helper and one test sending ``word``."""
    return "import pytest\n" + CHAT_TEST.replace("hello", word)


def record_files(project: Project, **files: str) -> list[Path]:
    """Replace the project's test by one test module per word, record them, and return the recordings."""
    (project.pytester.path / "test_chat.py").unlink()
    for name, word in files.items():
        path = project.pytester.path / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(chat_file(word))
    project.pytester.runpytest("--record").assert_outcomes(passed=len(files))
    return sorted(project.recordings.glob("*.json"))


@pytest.mark.parametrize("how", sorted(STOPPED))
def test_a_test_that_did_not_run_keeps_its_recordings(project: Project, how: str) -> None:
    # Given two recorded tests, the second of which now stops before its call
    recorded = record_files(project, test_first="one", test_second="two")
    stop, reason = STOPPED[how]
    second = project.pytester.path / "test_second.py"
    second.write_text(second.read_text().replace("def test_chat", stop, 1))
    # When the whole suite runs with --llmtape-prune
    result = project.pytester.runpytest("--llmtape-prune")
    # Then the run passed, and nothing was deleted, with the reason
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"llmtape: cannot tell which recordings are unused: {reason}"])
    assert sorted(project.recordings.glob("*.json")) == recorded
    assert "pruned" not in result.stdout.str()


def test_tests_outside_the_directory_pytest_started_in_keep_their_recordings(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.pytester.makeini("[pytest]\n")  # the rootdir is the project, above unit/
    recorded = record_files(project, **{"unit/test_unit": "one", "e2e/test_e2e": "two"})
    monkeypatch.chdir(project.pytester.path / "unit")
    result = project.pytester.runpytest("--llmtape-prune")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["llmtape: cannot tell which recordings are unused: pytest started in unit, below the rootdir*"]
    )
    assert sorted(project.recordings.glob("*.json")) == recorded


def test_ignored_tests_keep_their_recordings(project: Project) -> None:
    recorded = record_files(project, **{"unit/test_unit": "one", "e2e/test_e2e": "two"})
    result = project.pytester.runpytest("--ignore=e2e", "--llmtape-prune")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["llmtape: cannot tell which recordings are unused: tests were excluded with --ignore"]
    )
    assert sorted(project.recordings.glob("*.json")) == recorded


def test_last_failed_keeps_the_recordings_of_the_files_it_skips(project: Project) -> None:
    recorded = record_files(project, test_first="one", test_second="two")
    project.pytester.makepyfile(test_third="def test_broken():\n    assert False\n")
    project.pytester.runpytest().assert_outcomes(passed=2, failed=1)
    project.pytester.makepyfile(test_third="def test_broken():\n    assert True\n")
    result = project.pytester.runpytest("--lf", "--llmtape-prune")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["llmtape: cannot tell which recordings are unused: --lf ran *"])
    assert sorted(project.recordings.glob("*.json")) == recorded


def test_a_failing_run_never_suggests_pruning(project: Project) -> None:
    record_two(project)
    shutil.copy(sorted(project.recordings.glob("*.json"))[0], project.recordings / ("f" * 64 + ".json"))
    project.pytester.makepyfile(test_fail="def test_fail():\n    assert False\n")
    result = project.pytester.runpytest()
    result.stdout.fnmatch_lines(["llmtape: cannot tell which recordings are unused: the run did not pass"])
    assert "prune" not in result.stdout.str()


def test_in_the_per_test_scope_a_skipped_test_keeps_only_its_own(project: Project) -> None:
    # Given per-test recordings of two tests, and a stale recording of the first one
    project.pytester.makeini("[pytest]\nllmtape_scope = test\n")
    recorded = record_files(project, test_first="one", test_second="two")
    first = next(p for p in recorded if json.loads(p.read_text())["test_id"] == "test_first.py::test_chat")
    stale = project.recordings / ("f" * 64 + ".json")
    shutil.copy(first, stale)
    second = project.pytester.path / "test_second.py"
    second.write_text(second.read_text().replace("def test_chat", "@pytest.mark.skip\ndef test_chat"))
    # When the suite runs with the second test skipped
    result = project.pytester.runpytest("--llmtape-prune")
    # Then the first test's stale recording goes, the skipped test's stays
    result.stdout.fnmatch_lines(
        [
            "llmtape: pruned 1 unused recordings",
            "llmtape: cannot tell whether 1 other recordings are unused: 1 test was skipped*",
        ]
    )
    assert sorted(project.recordings.glob("*.json")) == recorded


def test_a_skipped_test_keeps_its_recordings_under_xdist(project: Project) -> None:
    recorded = record_files(project, test_first="one", test_second="two")
    second = project.pytester.path / "test_second.py"
    second.write_text(second.read_text().replace("def test_chat", "@pytest.mark.skip\ndef test_chat"))
    result = project.pytester.runpytest_subprocess("-n", "2", "--llmtape-prune")
    result.stdout.fnmatch_lines(
        ["llmtape: cannot tell which recordings are unused: 1 test was skipped (test_second.py::test_chat)"]
    )
    assert sorted(project.recordings.glob("*.json")) == recorded


BLOCK = """
import os
from pathlib import Path

import llmtape
import openai


def test_block():
    mode = os.environ.get("BLOCK_MODE", "replay")
    with llmtape.tape(Path(__file__).parent / "recordings", mode=mode):
        with openai.OpenAI(base_url=os.environ["LLM_BASE_URL"], api_key="k") as client:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "block"}])
"""


def test_a_recording_used_by_an_llmtape_tape_block_is_used(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.pytester.makepyfile(test_block=BLOCK)
    monkeypatch.setenv("BLOCK_MODE", "record")
    project.pytester.runpytest("--record").assert_outcomes(passed=2)
    recorded = sorted(project.recordings.glob("*.json"))
    assert len(recorded) == 2
    monkeypatch.delenv("BLOCK_MODE")
    result = project.pytester.runpytest("--llmtape-prune")
    result.stdout.fnmatch_lines(["llmtape: pruned 0 unused recordings"])
    assert sorted(project.recordings.glob("*.json")) == recorded
