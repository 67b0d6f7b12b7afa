"""The llmtape command on a project directory: list, show, diff, explain, prune, rehash, defaults, errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llmtape.cli import main
from llmtape.format.recording import StoredResponse, new_recording, new_request
from llmtape.keys import request_key
from llmtape.store import Store
from tests.conftest import ROOT

LLAMA_STACK = ROOT / "tests" / "data" / "llama-stack-recordings"
TOOL_CALL = "e30bc6408e187b53410bc3eabdac9c9beeb98bab989d49120681b0633e8a7d83.json"
REASONING = "3d3b352a20b67451001ad1997a94c528b8f863d86489a62c3656faa05e66ca69.json"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose pytest.ini names cassettes/ and holds two imported llama-stack recordings."""
    (tmp_path / "pytest.ini").write_text("[pytest]\nllmtape_dir = cassettes\n")
    sources = tmp_path / "sources"
    sources.mkdir()
    for name in (TOOL_CALL, REASONING):
        shutil.copy(LLAMA_STACK / name, sources / name)
    monkeypatch.chdir(tmp_path)
    assert main(["import", "--from", "llama-stack", "sources"]) == 0
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, (captured.out + captured.err).splitlines()


def keys(project: Path) -> list[str]:
    return sorted(p.name.removesuffix(".json") for p in (project / "cassettes").glob("*.json"))


def test_list_is_an_aligned_table_with_filters(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, "list")
    assert code == 0
    assert lines[0].split() == ["KEY", "ENDPOINT", "MODEL", "BODY", "CHUNKS", "STATUS", "REPLY"]
    assert lines[-1] == "2 recordings"
    assert {line.index("/v1/v1/chat") for line in lines[1:3]} == {lines[0].index("ENDPOINT")}
    assert any(
        "gpt-4o" in line and "stream  62" in line and "Recent updates from the US" in line for line in lines
    )
    assert run(capsys, "list", "--text", "knowledge_search")[1][-1] == "1 recordings"
    assert run(capsys, "list", "--model", "nothing-like-it")[1][-1] == "0 recordings"


def test_show_reads_like_the_conversation(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tool_key = next(
        k for k in keys(project) if "knowledge_search" in (project / "cassettes" / f"{k}.json").read_text()
    )
    code, lines = run(capsys, "show", tool_key[:8])
    text = "\n".join(lines)
    assert code == 0
    assert "tools offered: knowledge_search" in text
    assert "user: What are the updates from the US region?" in text
    call = '-> knowledge_search({"query":"Latest updates from the US"}) [call_gaVvfdNi1X9Ejqz6X9cirf8K]'
    assert f"assistant: {call}" in text
    assert "tool: [call_gaVvfdNi1X9Ejqz6X9cirf8K] knowledge_search tool found 2 chunks:" in text
    assert "reply (200, streamed, 62 chunks):" in text
    assert "  text: Recent updates from the US region include" in text
    assert "  finish: stop" in text
    assert '"total_tokens": 525' in text


def test_show_puts_reasoning_apart(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = next(
        k
        for k in keys(project)
        if "knowledge_search" not in (project / "cassettes" / f"{k}.json").read_text()
    )
    text = "\n".join(run(capsys, "show", other)[1])
    assert "  reasoning: " in text


def test_diff_shows_request_paths_and_replies_side_by_side(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = keys(project)
    code, lines = run(capsys, "diff", a[:10], b[:10])
    assert code == 0
    assert "request (A != B):" in lines
    assert any(line.startswith("  request.body.messages[0].content: ") for line in lines)
    assert any(
        line.startswith("  A reply (200, streamed") and "| B reply (200, streamed" in line for line in lines
    )


def test_explain_prints_the_key_material(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = keys(project)[0]
    code, lines = run(capsys, "explain", key[:6])
    assert code == 0
    assert lines[0] == "matching: strict (the whole body counts)"
    assert lines[1].startswith('key material: {"body":{')
    assert lines[2] == f"key: {key}"
    assert lines[3] == f"file: cassettes/{key}.json (exists)"
    # A bare request body needs its endpoint.
    (project / "body.json").write_text(json.dumps({"model": "m", "messages": []}))
    assert run(capsys, "explain", "body.json")[0] == 2
    code, lines = run(capsys, "explain", "body.json", "--endpoint", "/v1/chat/completions")
    assert lines[2] == f"key: {request_key('POST', '/v1/chat/completions', {'model': 'm', 'messages': []})}"
    assert lines[3].endswith("(absent)")


def test_rehash_follows_new_matching_settings(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = keys(project)
    (project / "pytest.ini").write_text(
        "[pytest]\nllmtape_dir = cassettes\nllmtape_ignore = body.stream_options\n"
    )
    _, lines = run(capsys, "rehash", "--dry-run")
    assert lines[-1] == "llmtape: would re-key 2 recordings, 0 collisions"
    assert keys(project) == before
    _, lines = run(capsys, "rehash")
    assert lines[-1] == "llmtape: re-keyed 2 recordings, 0 collisions"
    after = keys(project)
    assert set(after).isdisjoint(before)
    stored = json.loads((project / "cassettes" / f"{after[0]}.json").read_text())
    assert stored["llmtape"]["matching"]["ignore"] == ["body.stream_options"]
    assert run(capsys, "verify", "--no-schema")[0] == 0
    assert run(capsys, "rehash")[1][-1] == "llmtape: re-keyed 0 recordings, 0 collisions"


def usage_record(project: Path, used: list[str], started: float, **fields: object) -> Path:
    """Write the usage record of a whole, passing run that started at ``started`` and used ``used``."""
    usage = project / ".pytest_cache" / "v" / "llmtape" / "usage"
    usage.parent.mkdir(parents=True, exist_ok=True)
    directory = str((project / "cassettes").resolve())
    record = {"llmtape_usage": 2, "started": started, "passed": True, "narrowed": [], "gaps": {}}
    # "complete" is what an older llmtape read: the record is one it would have trusted too.
    record |= {"complete": True, "directories": {directory: used}, "used": {directory: used}}
    record |= {"ran": [], "not_run": {}, **fields}
    usage.write_text(json.dumps(record))
    return usage


def test_prune_uses_the_last_complete_run(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "prune")[1][-1].startswith("llmtape: no test run recorded in")
    first, second = keys(project)
    usage = usage_record(project, [f"{first}.json"], time.time() + 1)
    _, lines = run(capsys, "prune")
    assert lines[-1] == "llmtape: 1 unused recordings; delete them with llmtape prune --yes"
    assert keys(project) == [first, second]
    _, lines = run(capsys, "prune", "--yes")
    assert lines[-1] == "llmtape: deleted 1 unused recordings"
    assert keys(project) == [first]
    usage_record(project, [], time.time() + 1, narrowed=["tests were selected on the command line"])
    assert run(capsys, "prune")[1][-1] == (
        "llmtape: the test run cannot tell which recordings are unused: "
        "tests were selected on the command line"
    )
    usage.write_text(json.dumps({"complete": True, "passed": True, "directories": {}}))
    assert run(capsys, "prune")[1][-1].endswith("was written by an older llmtape; run the test suite again")


def test_prune_refuses_a_record_older_than_a_recording(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a record of a run that used the first recording, and a second one added after it (a git pull)
    first, second = keys(project)
    started = time.time() - 60
    usage_record(project, [f"{first}.json"], started)
    os.utime(project / "cassettes" / f"{first}.json", (started - 60, started - 60))
    # When prune is asked to delete what the run did not use
    code, lines = run(capsys, "prune", "--yes")
    # Then it refuses, names the newer recording, and deletes nothing
    assert code == 2
    assert lines[0] == (
        "llmtape: the test run recorded in .pytest_cache/v/llmtape/usage is older than 1 of the recordings "
        "it did not use; a recording newer than the run is never deleted:"
    )
    assert lines[1] == f"  cassettes/{second}.json"
    assert lines[-1] == "llmtape: run the test suite again, then prune"
    assert keys(project) == [first, second]


def test_a_dry_run_counts_collisions_as_the_rehash_does(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two recordings that differ only in body.user, a field the project now ignores
    store = Store(project / "cassettes")
    response: StoredResponse = {
        "status": 200,
        "headers": {"content-type": "application/json"},
        "is_streaming": False,
        "body": {"__type__": "json", "__data__": {}},
    }
    for user in ("a", "b"):
        body = {"model": "m", "messages": [], "user": user}
        request = new_request("POST", "http://h/v1/chat/completions", "/v1/chat/completions", {}, body)
        store.save(request_key("POST", "/v1/chat/completions", body), new_recording(request, response))
    (project / "pytest.ini").write_text("[pytest]\nllmtape_dir = cassettes\nllmtape_ignore = body.user\n")
    # When rehash runs, first dry, then for real
    _, dry = run(capsys, "rehash", "--dry-run")
    _, real = run(capsys, "rehash")
    # Then both say the same: one moves, the other would land on it and stays
    assert dry[-1] == "llmtape: would re-key 1 recordings, 1 collisions"
    assert real[-1] == "llmtape: re-keyed 1 recordings, 1 collisions"
    assert dry[:-1] == real[:-1]
    assert len(keys(project)) == 4


def test_prefixes_must_be_unique_and_exist(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, "show", "")
    assert code == 2
    assert lines == ["llmtape: '' matches 2 recordings in cassettes; give more of the key"]
    assert run(capsys, "show", "zzz")[1] == ["llmtape: no recording in cassettes matches 'zzz'"]


def test_python_dash_m_runs_the_tool(project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "llmtape", "list"], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "2 recordings"


def test_every_reading_command_works_on_the_projects_own_recordings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    directory = str(ROOT / "recordings")
    code, lines = run(capsys, "list", "--dir", directory)
    count = len(list((ROOT / "recordings").glob("*.json")))
    assert (code, lines[-1]) == (0, f"{count} recordings")
    first, second = (line.split()[0] for line in lines[1:3])
    assert run(capsys, "show", first, "--dir", directory)[1][-1].startswith("  ")
    assert "request (A != B):" in run(capsys, "diff", first, second, "--dir", directory)[1]
    assert run(capsys, "explain", first, "--dir", directory)[1][-1].endswith("(exists)")
    assert run(capsys, "verify", "--dir", directory)[0] == 0
