"""A tampered recording fails its own test with the file and the fix; the other tests are unaffected."""

from __future__ import annotations

import json

import pytest

from llmtape.cli import main
from llmtape.locks import lock_folder
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


ILL_TYPED = {
    "string status": (lambda r: r["response"].update(status="200"), "has a response.status of type str"),
    "numeric body": (lambda r: r["response"].update(body=7), "has response.body that is not a typed object"),
    "chunk without __data__": (
        lambda r: r["response"].update(is_streaming=True, body=[{"__type__": "json"}]),
        "has response.body[0] that is not a typed object",
    ),
    "string headers": (lambda r: r["response"].update(headers="x"), "has response.headers that are not"),
    "newer format": (lambda r: r["llmtape"].update(format=99), "has format 99, newer than this llmtape"),
}


@pytest.mark.parametrize("damage", sorted(ILL_TYPED))
def test_an_ill_typed_recording_fails_only_its_test_and_every_command_says_why(
    project: Project, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    change, problem = ILL_TYPED[damage]
    files = record_two(project)
    data = json.loads(files["hello"].read_text())
    change(data)
    files["hello"].write_text(json.dumps(data))
    # Replay: that test fails with the file and the problem, the other passes.
    result = project.pytester.runpytest("test_two.py")
    result.assert_outcomes(passed=1, failed=1)
    pattern = problem.replace("[", "[[]")  # fnmatch reads [0] as a character class
    result.stdout.fnmatch_lines([f"llmtape: * {pattern}*", f"  file: recordings/{files['hello'].name}"])
    assert "TypeError" not in result.stdout.str()
    assert "KeyError" not in result.stdout.str()
    # verify names it; list shows the good one and reports the bad one without stopping.
    assert main(["verify", "--dir", str(project.recordings)]) == 1
    assert f"{files['hello'].name}: " in capsys.readouterr().out
    assert main(["list", "--dir", str(project.recordings)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == "1 recordings"
    assert problem in err
    assert files["hello"].name in err
    # The fix the message gives works: rewrite mode records over the bad file.
    project.pytester.runpytest("--llmtape-mode=rewrite", "test_two.py::test_hello").assert_outcomes(passed=1)
    project.pytester.runpytest("test_two.py").assert_outcomes(passed=2)


def test_rewrite_mode_over_a_damaged_recording_leaves_no_lock_for_the_next_test(project: Project) -> None:
    project.pytester.makepyfile(
        test_same="""
from test_chat import chat


def test_one():
    chat("same")


def test_two():
    chat("same")
"""
    )
    project.pytester.runpytest("--record", "test_same.py").assert_outcomes(passed=2)
    (recording,) = project.recordings.glob("*.json")
    recording.write_text('{"request": ')
    result = project.pytester.runpytest("--llmtape-mode=rewrite", "test_same.py")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["llmtape: 1 replayed, 1 recorded, 0 missing"])
    assert json.loads(recording.read_text())["response"]["status"] == 200
    assert list(lock_folder(project.recordings).iterdir()) == []
