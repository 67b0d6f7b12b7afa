"""Drift mode: a suite recorded against the stand-in replays as usual while each call is sent again to a
live server in the background and compared; the stand-in started with ``--variant`` answers as a model
that drifted (other wording, or a tool call with another argument)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Server, start_server

SUITE = """
import asyncio
import json
import os

import anthropic
import ollama
import openai

BASE = os.environ["LLM_BASE_URL"]
ROOT = BASE.removesuffix("/v1")
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {
    "type": "object", "properties": {"query": {"type": "string"}}}}}]
ANTHROPIC_TOOLS = [{"name": "lookup", "input_schema": {"type": "object", "properties": {"query": {}}}}]
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


def test_openai_text():
    with openai.OpenAI(base_url=BASE, api_key="test-key", max_retries=0) as client:
        answer = client.chat.completions.create(model="gpt-4o", messages=ASK)
    assert answer.choices[0].message.content.startswith("You said: What is the weather")


def test_openai_tool_stream():
    async def main():
        async with openai.AsyncOpenAI(base_url=BASE, api_key="test-key", max_retries=0) as client:
            stream = await client.chat.completions.create(
                model="gpt-4o", messages=ASK, tools=TOOLS, stream=True)
            return [c async for c in stream]
    chunks = asyncio.run(main())
    calls = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or []]
    arguments = "".join(call.function.arguments or "" for call in calls)
    assert json.loads(arguments) == {"query": "What is the weather in Paris?"}


def test_anthropic_tool():
    with anthropic.Anthropic(base_url=ROOT, api_key="test-key", max_retries=0) as client:
        message = client.messages.create(
            model="claude-sonnet-4-5", max_tokens=50, messages=ASK, tools=ANTHROPIC_TOOLS)
    assert message.content[0].input == {"query": "What is the weather in Paris?"}


def test_anthropic_stream():
    async def main():
        async with anthropic.AsyncAnthropic(base_url=ROOT, api_key="test-key", max_retries=0) as client:
            async with client.messages.stream(model="claude-sonnet-4-5", max_tokens=50, messages=ASK) as s:
                return await s.get_final_text()
    assert asyncio.run(main()).startswith("Echo: What is the weather")


def test_ollama_stream():
    with ollama.Client(host=ROOT) as client:
        text = "".join(p.message.content for p in client.chat(model="llama3.2", messages=ASK, stream=True))
    assert text.startswith("Echo: What is the weather")


def test_ollama_async():
    async def main():
        async with ollama.AsyncClient(host=ROOT) as client:
            return (await client.chat(model="llama3.2", messages=ASK)).message.content
    assert asyncio.run(main()).startswith("Echo: What is the weather")
"""

TESTS = 6


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """The suite above, recorded against the usual stand-in."""
    monkeypatch.delenv("LLMTAPE_MODE", raising=False)
    pytester.makepyfile(test_suite=SUITE)
    recorder = start_server()
    monkeypatch.setenv("LLM_BASE_URL", recorder.base_url)
    pytester.runpytest("--record").assert_outcomes(passed=TESTS)
    recorder.stop()
    return pytester


def _drift_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, variant: str, *args: str):  # type: ignore[no-untyped-def]
    live = start_server(*(["--variant", variant] if variant else []))
    monkeypatch.setenv("LLM_BASE_URL", live.base_url)
    try:
        result = pytester.runpytest("--llmtape-mode=drift", "--llmtape-drift-report=drift.json", *args)
        served = live.served()
    finally:
        live.stop()
    report = json.loads(Path(pytester.path, "drift.json").read_text())
    return result, served, report


def test_an_unchanged_model_shows_no_drift(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    before = {p.name: p.read_bytes() for p in Path(suite.path, "recordings").glob("*.json")}
    result, served, report = _drift_run(suite, monkeypatch, "")
    # The tests pass on their recordings, every call was also sent live, and nothing drifted
    result.assert_outcomes(passed=TESTS)
    assert result.ret == pytest.ExitCode.OK
    assert served == TESTS
    result.stdout.fnmatch_lines(
        ["llmtape: 6 replayed, 0 recorded, 0 missing", "llmtape drift: 6 calls compared*"]
    )
    assert (report["compared"], report["structural"], report["textual"], report["failed"]) == (TESTS, 0, 0, 0)
    assert {call["status"] for call in report["calls"]} == {"same"}
    # Fresh ids, timestamps and timing are not drift, and no recording was written
    after = {p.name: p.read_bytes() for p in Path(suite.path, "recordings").glob("*.json")}
    assert after == before


def test_reworded_answers_are_textual_drift_which_fails_only_when_strict(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _, report = _drift_run(suite, monkeypatch, "text")
    result.assert_outcomes(passed=TESTS)
    assert result.ret == pytest.ExitCode.OK
    texts = [call for call in report["calls"] if call["status"] == "textual"]
    # The four answers in words drifted; the two tool calls did not
    assert len(texts) == 4
    assert report["structural"] == 0
    assert all(call["similarity"] < 0.9 for call in texts)
    assert any(call["live_text"].startswith("Put another way") for call in texts)
    result.stdout.fnmatch_lines(
        ["llmtape drift: 6 calls compared*4 textual drift*", "*text 0.*test_suite.py::*"]
    )
    strict, _, _ = _drift_run(suite, monkeypatch, "text", "--llmtape-drift-strict")
    strict.assert_outcomes(passed=TESTS)
    assert strict.ret == pytest.ExitCode.TESTS_FAILED


def test_a_tool_call_with_another_argument_is_structural_drift_and_fails_the_run(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _, report = _drift_run(suite, monkeypatch, "tools")
    result.assert_outcomes(passed=TESTS)  # the tests themselves pass on their recordings
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    structural = {
        call["test"]: call["structural"] for call in report["calls"] if call["status"] == "structural"
    }
    assert set(structural) == {"test_suite.py::test_openai_tool_stream", "test_suite.py::test_anthropic_tool"}
    for differences in structural.values():
        assert any("{query} → {query, unit}" in difference for difference in differences)
    result.stdout.fnmatch_lines(["llmtape drift: 6 calls compared*2 structural drift*", "*STRUCTURAL*"])
    # Split across pytest-xdist workers, the controller adds up their reports and fails the run alike
    split, _, merged = _drift_run(suite, monkeypatch, "tools", "-n", "2", "-p", "xdist")
    split.assert_outcomes(passed=TESTS)
    assert split.ret == pytest.ExitCode.TESTS_FAILED
    assert (merged["compared"], merged["structural"]) == (TESTS, 2)


def test_a_call_without_a_recording_is_recorded_and_a_dead_api_is_reported(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, server: Server
) -> None:
    suite.makepyfile(
        test_new="""
import os
import openai

def test_new():
    with openai.OpenAI(base_url=os.environ["LLM_BASE_URL"], api_key="test-key", max_retries=0) as client:
        answer = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "new"}])
    assert answer.choices[0].message.content.startswith("You said: new")
"""
    )
    monkeypatch.setenv("LLM_BASE_URL", server.base_url)
    result = suite.runpytest("--llmtape-mode=drift", "test_new.py")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["llmtape: 0 replayed, 1 recorded, 0 missing"])
    # With the live API gone, the suite still passes on its recordings, and the report says what failed
    server.stop()
    gone = suite.runpytest("--llmtape-mode=drift", "--llmtape-drift-report=drift.json")
    gone.assert_outcomes(passed=TESTS + 1)
    report = json.loads(Path(suite.path, "drift.json").read_text())
    assert report["failed"] == TESTS + 1
    assert all(call["status"] == "failed" and "ConnectError" in call["error"] for call in report["calls"])


def test_drift_outside_pytest_reports_on_the_tape_when_the_block_ends(tmp_path: Path) -> None:
    import openai

    import llmtape

    def ask(server: Server) -> str:
        with openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=0) as client:
            answer = client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
            )
        return str(answer.choices[0].message.content)

    usual = start_server()
    with llmtape.tape(tmp_path, mode="record"):
        recorded = ask(usual)
    usual.stop()
    reworded = start_server("--variant", "text")
    try:
        with llmtape.tape(tmp_path, mode="drift") as tape:
            assert ask(reworded) == recorded  # the recording, not the live answer
        assert reworded.served() == 1
    finally:
        reworded.stop()
    assert tape.drift is not None
    (entry,) = tape.drift.entries
    assert entry.drift is not None
    assert entry.drift.textual(0.9)
    assert not entry.drift.has_structural
    assert tape.drift.lines(0.9)[0].startswith("llmtape drift: 1 call")


def test_a_drift_threshold_that_is_not_a_similarity_stops_the_run(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nllmtape_drift_threshold = high\n")
    pytester.makepyfile("def test_it():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*llmtape_drift_threshold is 'high'; use a similarity from 0 to 1, like 0.9*"]
    )


MOCKED = """
import os

import httpx
import openai
import respx

BASE = os.environ["LLM_BASE_URL"]
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


def test_a_recorded_call():
    with openai.OpenAI(base_url=BASE, api_key="test-key", max_retries=0) as client:
        assert client.chat.completions.create(model="gpt-4o", messages=ASK).choices


def test_the_error_path_with_a_mock_of_its_own():
    with respx.mock(using="httpcore") as mock:
        mock.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(400, json={"error": {}}))
        assert httpx.post(f"{BASE}/chat/completions", json={}).status_code == 400
"""


@pytest.fixture
def mocked(pytester: pytest.Pytester, server: Server, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """The suite above, recorded against the stand-in, which stays up for the live comparisons."""
    monkeypatch.delenv("LLMTAPE_MODE", raising=False)
    monkeypatch.setenv("LLM_BASE_URL", server.base_url)
    pytester.makepyfile(test_mocked=MOCKED)
    pytester.runpytest("--record").assert_outcomes(passed=2)
    return pytester


def test_the_live_comparisons_never_go_through_a_tests_own_mocks(mocked: pytest.Pytester) -> None:
    pytester = mocked
    result = pytester.runpytest("--llmtape-mode=drift", "--llmtape-drift-report=drift.json")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.OK
    report = json.loads(Path(pytester.path, "drift.json").read_text())
    assert [(call["test"], call["status"]) for call in report["calls"]] == [
        ("test_mocked.py::test_a_recorded_call", "same")
    ]


def test_a_report_that_cannot_be_written_is_said_and_the_comparisons_still_printed(
    mocked: pytest.Pytester,
) -> None:
    pytester = mocked
    result = pytester.runpytest("--llmtape-mode=drift", "--llmtape-drift-report=.")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "llmtape drift: 1 call compared with the live API*",
            "llmtape drift: the report could not be written to *",
        ]
    )
