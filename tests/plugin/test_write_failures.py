"""A recording that cannot be written fails its test with the directory, the OS error and the fix; the
caller's stream is not broken, and the call is not counted as recorded.

Tests run as root here, where a read-only mode bit does not stop a write: an unwritable directory is a
path under a regular file, and a full disk is ``os.replace`` failing with ENOSPC (patched for the inner
test only, by a fixture of its conftest).
"""

from __future__ import annotations

import os
import time

import pytest

from tests.plugin.conftest import Project

BOTH = """
from test_chat import chat


def test_plain():
    assert chat("hello").startswith("You said: hello")


def test_streamed():
    assert chat("hello", stream=True).startswith("You said: hello")
"""

FULL_DISK = """
import errno
import os

import pytest


@pytest.fixture(autouse=True)
def full_disk(monkeypatch):
    def replace(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", replace)
"""


def test_an_unwritable_recordings_directory_fails_the_test_and_counts_nothing_recorded(
    project: Project,
) -> None:
    project.pytester.makepyfile(test_both=BOTH)
    (project.pytester.path / "blocker").write_text("a file where the directory should be\n")
    result = project.pytester.runpytest("--record", "--llmtape-dir=blocker/recordings", "test_both.py")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*llmtape: could not write the recording into blocker/recordings*NotADirectoryError*",
            "*fix: make room on its disk or make it writable, or record into another directory*",
            "*file: blocker/recordings/*.json",
            "*to record it again: pytest --llmtape-mode=rewrite --llmtape-dir blocker/recordings test_both*",
            "llmtape: 0 replayed, 0 recorded, 0 missing, 2 failed",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")
    assert project.server.served() == 2


@pytest.mark.parametrize("mode", ["--record", "--llmtape-mode=rewrite"])
def test_a_full_disk_fails_the_test_not_the_callers_stream(project: Project, mode: str) -> None:
    project.pytester.makepyfile(test_both=BOTH)
    project.pytester.makeconftest(FULL_DISK)
    result = project.pytester.runpytest(mode, "test_both.py")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*OSError: [[]Errno 28[]] No space left on device*"])
    result.stdout.fnmatch_lines(["llmtape: 0 replayed, 0 recorded, 0 missing, 2 failed"])
    # The stream reached its end: the failure is llmtape's, not an OSError inside the caller's code
    assert "in chat" not in result.stdout.str()
    assert list(project.pytester.path.glob("recordings/*")) == []


def test_a_run_that_records_deletes_the_temp_files_interrupted_writes_left(project: Project) -> None:
    # Given the temp file of a run killed while it wrote a recording
    project.recordings.mkdir()
    left = project.recordings / ".0123456789abcdef.k2j3h4.tmp"
    left.write_bytes(b'{"request": {"meth')
    os.utime(left, (time.time() - 3600, time.time() - 3600))
    # A replay run writes nothing and leaves the directory alone
    project.pytester.runpytest().assert_outcomes(failed=1)
    assert left.exists()
    # A run that records deletes it
    project.pytester.runpytest("--record").assert_outcomes(passed=1)
    assert [p.suffix for p in project.recordings.iterdir()] == [".json"]
