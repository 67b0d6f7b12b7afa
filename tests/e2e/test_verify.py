"""llmtape verify: one line per problem, non-zero exit on any."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from llmtape.cli import main
from tests.conftest import ROOT
from tests.fake_credentials import credentials


@pytest.fixture
def copied(tmp_path: Path) -> Path:
    """A copy of two of the project's own recordings: one streamed, one not."""
    sources = sorted((ROOT / "recordings").glob("*.json"))
    streamed = next(p for p in sources if json.loads(p.read_text())["response"]["is_streaming"])
    whole = next(p for p in sources if not json.loads(p.read_text())["response"]["is_streaming"])
    for path in (streamed, whole):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def run(directory: Path, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, list[str]]:
    code = main(["verify", "--dir", str(directory), *options])
    return code, capsys.readouterr().out.splitlines()


def test_the_projects_recordings_verify_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(ROOT / "recordings", capsys)
    assert code == 0
    assert lines[-1].endswith(": 0 with problems (0 in all)")


def test_each_problem_is_one_line_naming_the_file(copied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    streamed, whole = sorted(
        copied.glob("*.json"), key=lambda p: not json.loads(p.read_text())["response"]["is_streaming"]
    )
    data = json.loads(streamed.read_text())
    data["response"]["body"][1]["__data__"]["choices"][0]["delta"]["surprise"] = 1  # schema drift
    data["response"]["body"][2]["__data__"]["choices"] = "not a list"  # a validation error
    streamed.write_text(json.dumps(data))
    data["response"]["body"][3] = {"data": {}}  # not a typed chunk
    (copied / "untyped.json").write_text(json.dumps(data))
    whole.rename(copied / ("0" * 64 + ".json"))  # a name that is not its key
    (copied / "broken.json").write_text("{")
    code, lines = run(copied, capsys)
    assert code == 1
    body = "\n".join(lines)
    assert f"{streamed}: chunk 1: choices[0].delta.surprise: field not in openai.types.chat" in body
    assert f"{streamed}: chunk 2: choices: Input should be a valid list" in body
    assert f"{copied / 'untyped.json'}: the recording has response.body[3] that is not a typed object" in body
    assert f"{copied / ('0' * 64 + '.json')}: file name does not match the stored request" in body
    assert f"{copied / 'broken.json'}: the recording is not valid JSON" in body
    assert lines[-1] == f"llmtape: verified 4 recordings in {copied}: 4 with problems (5 in all)"
    # Without the schema check, only the structural problems remain.
    code, lines = run(copied, capsys, "--no-schema")
    assert code == 1
    assert lines[-1] == f"llmtape: verified 4 recordings in {copied}: 3 with problems (3 in all)"


def test_a_secret_looking_value_is_a_problem(copied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = sorted(copied.glob("*.json"))[0]
    key = credentials()["OpenAI key"]
    path.write_text(path.read_text().replace('"model"', f'"api_key": "{key}", "model"', 1))
    code, lines = run(copied, capsys, "--no-schema")
    assert code == 1
    assert f"{path}: secret-looking value: OpenAI key sk-pro…; remove it and record again" in lines


def test_an_unknown_type_is_a_problem(copied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = sorted(copied.glob("*.json"))[0]
    data = json.loads(path.read_text())
    body = data["response"]["body"]
    (body[0] if isinstance(body, list) else body)["__type__"] = "os.system"
    path.write_text(json.dumps(data))
    code, lines = run(copied, capsys, "--no-schema")
    assert code == 1
    assert any(
        line.startswith(f"{path}: ")
        and "unknown __type__ 'os.system' (only the type map's names replay)" in line
        for line in lines
    )


def test_a_temp_file_left_by_an_interrupted_write_is_reported(
    copied: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given what a run killed while it wrote a recording leaves
    (copied / ".0123456789abcdef.k2j3h4.tmp").write_bytes(b'{"request": {"meth')
    # Then verify names it, says what it is and how to fix it, and fails
    code, lines = run(copied, capsys, "--no-schema")
    assert code == 1
    assert lines[0] == (
        f"{copied / '.0123456789abcdef.k2j3h4.tmp'}: a temporary file left by an interrupted write, not a "
        "recording; delete it (the next pytest run that records into this directory deletes it too)"
    )
    assert lines[-1].endswith(": 1 with problems (1 in all)")
