"""The usage record: which tests ran to their end, how shards combine, what a record can judge."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from llmtape.usage import NotRun, Progress, Usage, combine

PHASES = {
    "passed": [("setup", "passed"), ("call", "passed"), ("teardown", "passed")],
    "skipped": [("setup", "skipped"), ("teardown", "passed")],
    "skipped in its body": [("setup", "passed"), ("call", "skipped"), ("teardown", "passed")],
    "failed": [("setup", "passed"), ("call", "failed"), ("teardown", "passed")],
    "failed in teardown": [("setup", "passed"), ("call", "passed"), ("teardown", "failed")],
    "interrupted": [("setup", "passed")],
}


@pytest.mark.parametrize(("story", "ran"), [("passed", True)] + [(s, False) for s in PHASES if s != "passed"])
def test_only_a_test_whose_every_phase_passed_ran_to_its_end(story: str, ran: bool) -> None:
    progress = Progress(expected={"t.py::t": frozenset()})
    for when, outcome in PHASES[story]:
        progress.report("t.py::t", when, outcome, xfail=False)
    usage = Usage(started=0.0)
    usage.finish(progress)
    assert ("t.py::t" in usage.ran) is ran
    assert ("t.py::t" in usage.not_run) is not ran


def test_an_xfailed_test_did_not_run_to_its_end() -> None:
    progress = Progress(expected={"t.py::t": frozenset()})
    for when, outcome in [("setup", "passed"), ("call", "skipped"), ("teardown", "passed")]:
        progress.report("t.py::t", when, outcome, xfail=True)
    usage = Usage()
    usage.finish(progress)
    assert usage.not_run["t.py::t"].why == "xfailed"


def shard(*, ran: set[str], not_run: dict[str, str], **fields: object) -> Usage:
    entries = {n: NotRun(why, frozenset({Path("/r")})) for n, why in not_run.items()}
    return Usage(**{"started": 100.0, "passed": True, "ran": ran, "not_run": entries, **fields})  # type: ignore[arg-type]


def test_a_test_one_shard_deselected_and_another_ran_counts_as_run() -> None:
    union = combine(
        [
            shard(ran={"a"}, not_run={"b": "deselected"}),
            shard(ran={"b"}, not_run={"a": "deselected"}, started=50.0),
        ]
    )
    assert union.left_out_tests() == {}
    assert union.cannot_tell() == []
    assert union.started == 50.0
    assert union.records == 2


def test_the_union_is_whole_only_when_a_shard_collected_the_whole_suite() -> None:
    narrowed = shard(ran={"a"}, not_run={}, narrowed=["tests were selected on the command line"])
    assert combine([narrowed, narrowed]).cannot_tell() == [
        "no record collected the whole suite (tests were selected on the command line)"
    ]
    # A module one whole shard could not import, another whole shard collected.
    one = shard(ran={"a"}, not_run={}, gaps={"m.py": "skipped"})
    other = shard(ran={"m.py::b"}, not_run={})
    assert combine([one, other]).cannot_tell() == []
    assert combine([one, narrowed]).cannot_tell() == ["m.py was skipped at collection"]


def test_the_union_passed_only_when_every_shard_passed() -> None:
    failed = shard(ran=set(), not_run={})
    failed.passed = False
    assert combine([shard(ran=set(), not_run={}), failed]).cannot_tell() == ["one of the runs did not pass"]


def test_a_per_test_recording_is_judged_by_its_own_test(tmp_path: Path) -> None:
    # Given a directory with a shared and two per-test recordings, and one test of two skipped
    started = time.time()
    for name, test_id in [("shared", None), ("ran", "t.py::ran"), ("skipped", "t.py::skipped")]:
        content = {"test_id": test_id, "request": {}} if test_id else {"request": {}}
        (tmp_path / f"{name}.json").write_text(json.dumps(content, indent=2))
        os.utime(tmp_path / f"{name}.json", (started - 10, started - 10))
    directory = tmp_path.resolve()
    usage = Usage(started=started, passed=True, directories={directory}, ran={"t.py::ran"})
    usage.left_out("t.py::skipped", NotRun("skipped", frozenset({directory})))
    # Then only the recording of the test that ran is unused
    verdict = usage.verdict()
    assert [p.name for p in verdict.unused] == ["ran.json"]
    assert [p.name for p in verdict.undecided] == ["shared.json", "skipped.json"]
    assert verdict.reasons == ["1 test was skipped (t.py::skipped)"]
    # And one modified after the run started is never unused
    os.utime(tmp_path / "ran.json")
    assert [p.name for p in usage.verdict().newer] == ["ran.json"]
    assert usage.verdict().unused == []
