"""``llmtape list --cost``: the tokens and dollars of each recording and their total, with the shipped prices
or a project's own price file; without the flag the listing is as it always was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from llmtape.cli import main
from tests.conftest import ROOT

RECORDINGS = ROOT / "recordings"
STREAMED_GPT_4O = "e30bc6408e187b53410bc3eabdac9c9beeb98bab989d49120681b0633e8a7d83.json"
COPIED = {
    "0031fcc4f65e": "smollm2-135m-instruct 94 in, 53 out (a local model: no price)",
    "f4096485ea9a": "gpt-4o-mini 8 in, 9 out (the Responses API)",
    "d4115b77345e": "a stream recorded without include_usage",
    "06af30ee0f0d": "a file upload",
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with four recordings copied from the repository's and one imported llama-stack stream
    of gpt-4o (465 in, 60 out)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\nllmtape_dir = cassettes\n")
    (tmp_path / "cassettes").mkdir()
    for key in COPIED:
        (source,) = RECORDINGS.glob(f"{key}*.json")
        shutil.copy(source, tmp_path / "cassettes" / source.name)
    (tmp_path / "sources").mkdir()
    shutil.copy(ROOT / "tests" / "data" / "llama-stack-recordings" / STREAMED_GPT_4O, tmp_path / "sources")
    monkeypatch.chdir(tmp_path)
    assert main(["import", "--from", "llama-stack", "sources"]) == 0
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def cells(lines: list[str], key: str) -> list[str]:
    (row,) = (line for line in lines if line.startswith(key))
    return row.split()


def test_list_cost_adds_tokens_and_dollars_and_a_total(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code, lines, _ = run(capsys, "list", "--cost")
    assert code == 0
    header = lines[0].split()
    assert header[:7] == ["KEY", "ENDPOINT", "MODEL", "BODY", "CHUNKS", "STATUS", "USAGE"]
    assert header[7:] == ["MODEL", "TOKENS", "IN", "TOKENS", "OUT", "$", "REPLY"]
    assert lines[0].index("$") < lines[0].index("REPLY")
    assert cells(lines, "0031fcc4f65e")[6:9] == ["smollm2-135m-instruct", "94", "53"]
    assert cells(lines, "f4096485ea9a")[6:10] == ["gpt-4o-mini", "8", "9", "$0.0000066"]
    assert cells(lines, "d4115b77345e")[6:9] == ["-", "-", "-"]
    assert cells(lines, "06af30ee0f0d")[6:9] == ["-", "-", "-"]
    # The imported stream: the dated model its answer names, priced as gpt-4o (465 x $2.50 + 60 x $10 / 1M).
    (streamed,) = (line for line in lines if " stream " in line and "gpt-4o-2024-08-06" in line)
    assert streamed.split()[6:10] == ["gpt-4o-2024-08-06", "465", "60", "$0.0018"]
    assert lines[-3:] == [
        "5 recordings",
        "total: 689 tokens (567 in, 122 out) ≈ $0.0018",
        "unpriced: smollm2-135m-instruct",
    ]


def test_an_unpriced_row_has_a_blank_price(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    _, lines, _ = run(capsys, "list", "--cost", "--model", "smollm2")
    (row,) = lines[1:-3]
    assert row[lines[0].index("$") : lines[0].index("REPLY")].strip() == ""
    assert lines[-2:] == ["total: 147 tokens (94 in, 53 out)", "unpriced: smollm2-135m-instruct"]


def test_a_project_price_file_prices_the_local_model(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    own = {"date": "2026-12-01", "models": {"smollm2-135m-instruct": {"input": 1.0, "output": 2.0}}}
    (project / "prices.json").write_text(json.dumps(own))
    capsys.readouterr()
    code, lines, _ = run(capsys, "list", "--prices", "prices.json")  # --prices alone implies --cost
    assert code == 0
    assert cells(lines, "0031fcc4f65e")[6:10] == ["smollm2-135m-instruct", "94", "53", "$0.0002"]
    assert lines[-1] == "total: 689 tokens (567 in, 122 out) ≈ $0.002"


def test_the_projects_llmtape_prices_ini_is_read_as_pytest_reads_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pytest.ini").write_text(
        "[pytest]\nllmtape_dir = cassettes\nllmtape_prices = costs/prices.json\n"
    )
    (project / "costs").mkdir()
    own = {"models": {"smollm2-135m-instruct": {"input": 1.0, "output": 2.0}}}
    (project / "costs" / "prices.json").write_text(json.dumps(own))
    capsys.readouterr()
    _, lines, _ = run(capsys, "list", "--cost")
    assert lines[-1] == "total: 689 tokens (567 in, 122 out) ≈ $0.002"


def test_a_malformed_price_file_is_an_error_naming_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "prices.json").write_text(json.dumps({"models": {"m": {"input": "cheap"}}}))
    capsys.readouterr()
    code, lines, err = run(capsys, "list", "--cost", "--prices", "prices.json")
    assert code == 2
    assert lines == []
    assert err.startswith(
        "llmtape: the price file has models.m that is not {'input': dollars, 'output': dollars}"
    )
    assert "\n  file: prices.json\n  expected: {" in err


def test_without_cost_the_listing_is_unchanged(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code, lines, _ = run(capsys, "list")
    assert code == 0
    assert lines[0].split() == ["KEY", "ENDPOINT", "MODEL", "BODY", "CHUNKS", "STATUS", "REPLY"]
    assert lines[-1] == "5 recordings"
    assert not any(line.startswith(("total:", "unpriced:")) for line in lines)
