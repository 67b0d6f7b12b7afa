"""Rewrite mode: each request recorded once a run, the run told apart by its id, never by a clock."""

from __future__ import annotations

import json
import os
import time

from tests.plugin.conftest import Project


def test_a_recording_whose_modification_time_lies_in_the_future_is_recorded_again(project: Project) -> None:
    # Given a recording of an earlier run, its modification time an hour ahead (a clock skew, a checkout)
    project.pytester.runpytest("--record").assert_outcomes(passed=1)
    (path,) = project.recordings.glob("*.json")
    ahead = time.time() + 3600
    os.utime(path, (ahead, ahead))
    # When the suite runs in rewrite mode
    result = project.pytester.runpytest("--llmtape-mode=rewrite")
    # Then the call goes live and is saved over it
    result.stdout.fnmatch_lines(["llmtape: 0 replayed, 1 recorded, 0 missing"])
    assert project.server.served() == 2
    assert "run" not in json.loads(path.read_text())["llmtape"]


def test_xdist_workers_of_one_rewrite_run_record_a_request_once(project: Project) -> None:
    # Each of two workers runs the same test (--dist each): one records, the other replays that file
    for _ in range(2):
        result = project.pytester.runpytest_subprocess("-n", "2", "--dist", "each", "--llmtape-mode=rewrite")
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines(["llmtape: 1 replayed, 1 recorded, 0 missing"])
    # and the second run recorded again instead of replaying the first run's file
    assert project.server.served() == 2
