"""A tampered recording fails its own test with the file and the fix; the other tests are unaffected."""

from __future__ import annotations

import json

import pytest

from tests.plugin.conftest import Project

TWO = """
from test_chat import chat


def test_hello():
    chat("hello")


def test_bye():
    chat("bye")
"""


def record_two(project: Project) -> dict[str, object]:
    project.pytester.makepyfile(test_two=TWO)
    project.pytester.runpytest("--record", "test_two.py").assert_outcomes(passed=2)
    files = {}
    for path in project.recordings.glob("*.json"):
        files[json.loads(path.read_text())["request"]["body"]["messages"][0]["content"]] = path
    return files


@pytest.mark.parametrize("damage", ["unknown type", "name mismatch", "truncated"])
def test_a_damaged_recording_names_its_file_and_the_fix(project: Project, damage: str) -> None:
    files = record_two(project)
    hello, bye = files["hello"], files["bye"]
    if damage == "unknown type":
        data = json.loads(hello.read_text())
        data["response"]["body"]["__type__"] = "os.system"
        hello.write_text(json.dumps(data))
        expected = "llmtape: the recording has response.body of unknown __type__ 'os.system'*"
    elif damage == "name mismatch":
        hello.write_text(bye.read_text())
        expected = (
            "llmtape: this file is named for key *, but its stored request has key *; run `llmtape rehash`*"
        )
    else:
        hello.write_text(hello.read_text()[:200])
        expected = "llmtape: the recording is not valid JSON*; record it again"
    result = project.pytester.runpytest("test_two.py")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            expected,
            f"  file: recordings/{hello.name}",
            "  to record it again: pytest --llmtape-mode=rewrite test_two.py::test_hello",
        ]
    )
    assert project.server.served() == 2  # nothing was sent live to make up for it
