"""Sharded runs: each shard writes its usage record, ``llmtape usage combine`` merges them, and
``llmtape prune`` works on the union."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from llmtape.cli import main
from tests.plugin.conftest import Project
from tests.plugin.test_usage import record_files


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, (captured.out + captured.err).splitlines()


@pytest.fixture
def sharded(project: Project, monkeypatch: pytest.MonkeyPatch) -> tuple[Project, list[Path], Path]:
    """Two recorded test modules, and a recording that no test uses."""
    recorded = record_files(project, test_first="one", test_second="two")
    extra = project.recordings / ("f" * 64 + ".json")
    shutil.copy(recorded[0], extra)
    monkeypatch.chdir(project.pytester.path)
    return project, recorded, extra


def test_the_union_of_shards_prunes_what_no_shard_used(
    sharded: tuple[Project, list[Path], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project, recorded, extra = sharded
    # Given two shards, each running half of the suite (by option, and by environment variable)
    first = project.pytester.runpytest("-k", "first", "--llmtape-usage=usage/")
    first.stdout.fnmatch_lines(["llmtape: cannot tell which recordings are unused: 1 test was deselected"])
    monkeypatch.setenv("LLMTAPE_USAGE", "usage/")
    project.pytester.runpytest("-k", "second").assert_outcomes(passed=1, deselected=1)
    monkeypatch.delenv("LLMTAPE_USAGE")
    records = sorted((project.pytester.path / "usage").glob("*.json"))
    assert len(records) == 2
    # When one shard's record alone is combined, prune cannot tell
    assert run(capsys, "usage", "combine", str(records[0]))[0] == 0
    code, lines = run(capsys, "prune")
    assert code == 2
    assert lines[-1].startswith("llmtape: the test run cannot tell which recordings are unused: 1 test was")
    # When both are combined, prune lists and deletes only what neither used
    code, lines = run(capsys, "usage", "combine", "usage")
    assert code == 0
    assert lines == [
        "llmtape: combined 2 usage records into .pytest_cache/v/llmtape/usage",
        "llmtape: together they ran the whole suite; llmtape prune lists what none of them used",
    ]
    assert run(capsys, "prune")[1] == [
        f"  recordings/{extra.name}",
        "llmtape: 1 unused recordings; delete them with llmtape prune --yes",
    ]
    assert run(capsys, "prune", "--yes")[1][-1] == "llmtape: deleted 1 unused recordings"
    assert sorted(project.recordings.glob("*.json")) == recorded


def test_shards_split_by_directory_need_a_record_of_the_whole_collection(
    sharded: tuple[Project, list[Path], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    project, recorded, extra = sharded
    # Given shards that each ran one file named on the command line
    for name in ("test_first.py", "test_second.py"):
        project.pytester.runpytest(name, f"--llmtape-usage=usage/{name}.json").assert_outcomes(passed=1)
    run(capsys, "usage", "combine", "usage")
    code, lines = run(capsys, "prune")
    assert code == 2
    assert lines[-1] == (
        "llmtape: the test run cannot tell which recordings are unused: "
        "no record collected the whole suite (tests were selected on the command line)"
    )
    # When a collect-only run records the whole suite's tests, the union is whole
    project.pytester.runpytest("--collect-only", "--llmtape-usage=usage/all.json")
    _, lines = run(capsys, "usage", "combine", "usage")
    assert (
        lines[-1] == "llmtape: together they ran the whole suite; llmtape prune lists what none of them used"
    )
    assert run(capsys, "prune", "--yes")[1][-1] == "llmtape: deleted 1 unused recordings"
    assert not extra.exists()
    assert sorted(project.recordings.glob("*.json")) == recorded
