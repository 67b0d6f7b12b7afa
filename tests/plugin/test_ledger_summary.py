"""The token and cost ledger in a pytest run: the session's lines, per model with -v, across xdist
workers, per test on the fixture, and a project's own price table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import Server

SUITE = """
import asyncio
import os

import anthropic
import ollama
import openai

BASE = os.environ["LLM_BASE_URL"]
ROOT = BASE.removesuffix("/v1")
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


def test_openai(llmtape):
    with openai.OpenAI(base_url=BASE, api_key="test-key", max_retries=0) as client:
        client.chat.completions.create(model="gpt-4o", messages=ASK)
    if llmtape.mode == "replay":
        # the figures of this test alone: the stand-in counts 6 words in and 12 out, as gpt-4o-2024-08-06
        assert (llmtape.tokens.input, llmtape.tokens.output) == (6, 12)
        assert llmtape.cost.by_model == {"gpt-4o-2024-08-06": pytest.approx((6 * 2.5 + 12 * 10) / 1e6)}
        assert llmtape.ledger("recorded").total().total == 0


def test_anthropic_stream(llmtape):
    with anthropic.Anthropic(base_url=ROOT, api_key="test-key", max_retries=0) as client:
        with client.messages.stream(model="claude-sonnet-4-5", max_tokens=50, messages=ASK) as stream:
            stream.get_final_text()


def test_async_calls(llmtape):
    async def main():
        async with openai.AsyncOpenAI(base_url=BASE, api_key="test-key", max_retries=0) as client:
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=ASK, stream=True, stream_options={"include_usage": True})
            async for _ in stream:
                pass
        async with anthropic.AsyncAnthropic(base_url=ROOT, api_key="test-key", max_retries=0) as client:
            await client.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=ASK)
        async with ollama.AsyncClient(host=ROOT) as client:
            await client.chat(model="llama3.2", messages=[{"role": "user", "content": "And in Rome?"}])
    asyncio.run(main())
    if llmtape.mode == "replay":
        assert sorted(llmtape.ledger().by_model()) == ["claude-haiku-4-5", "gpt-4o-2024-08-06", "llama3.2"]


def test_ollama(llmtape):
    with ollama.Client(host=ROOT) as client:
        client.chat(model="llama3.2", messages=ASK)
    if llmtape.mode == "replay":
        # unpriced in the shipped table; a project's own table may price it
        assert llmtape.cost.unpriced == ([] if os.environ.get("PRICED") else ["llama3.2"])
        assert llmtape.tokens.total > 0
"""

TOKENS = re.compile(r"llmtape: (replayed|recorded) ([\d,]+) tokens \(([\d,]+) in, ([\d,]+) out\)")


@pytest.fixture
def suite(pytester: pytest.Pytester, server: Server, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("LLMTAPE_MODE", raising=False)
    monkeypatch.setenv("LLM_BASE_URL", server.base_url)
    pytester.makepyfile(test_suite=SUITE.replace("import os", "import os\n\nimport pytest", 1))
    return pytester


def figures(output: str, verb: str) -> tuple[int, int, int]:
    found = [m for m in TOKENS.finditer(output) if m[1] == verb]
    assert len(found) == 1, output
    total, given, taken = (int(found[0][i].replace(",", "")) for i in (2, 3, 4))
    assert total == given + taken
    return total, given, taken


def test_the_run_says_what_its_recordings_stood_in_for(suite: pytest.Pytester) -> None:
    recorded = suite.runpytest("--record")
    recorded.assert_outcomes(passed=4)
    spent = figures(recorded.stdout.str(), "recorded")
    recorded.stdout.fnmatch_lines(
        ["llmtape: recorded * tokens (* in, * out) ≈ $0.000* spent; unpriced: llama3.2"]
    )
    replayed = suite.runpytest()
    replayed.assert_outcomes(passed=4)
    # The tokens replayed are those recorded: OpenAI's, Anthropic's (a stream's usage) and Ollama's
    assert figures(replayed.stdout.str(), "replayed") == spent
    replayed.stdout.fnmatch_lines(["llmtape: replayed * tokens * ≈ $0.000* not spent; unpriced: llama3.2"])
    assert "recorded" not in "".join(line for line in replayed.stdout.lines if "tokens" in line)


def test_per_model_with_verbose_and_the_same_totals_across_xdist_workers(suite: pytest.Pytester) -> None:
    suite.runpytest("--record").assert_outcomes(passed=4)
    alone = figures(suite.runpytest().stdout.str(), "replayed")
    verbose = suite.runpytest("-v")
    for line in (  # one line per model, the most tokens first, after the replayed line
        "  gpt-4o-2024-08-06: 37 tokens (12 in, 25 out) ≈ $0.000*",
        "  claude-haiku-4-5: 19 tokens (12 in, 7 out) ≈ $0.000*",
        "  claude-sonnet-4-5: * tokens (* in, * out) ≈ $0.000*",
        "  llama3.2: * tokens (* in, * out) (unpriced)",
    ):
        verbose.stdout.fnmatch_lines(["llmtape: replayed *", line])
    split = suite.runpytest("-n", "2", "-p", "xdist")
    split.assert_outcomes(passed=4)
    assert figures(split.stdout.str(), "replayed") == alone


def test_a_project_price_table_prices_its_own_models(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.runpytest("--record").assert_outcomes(passed=4)
    monkeypatch.setenv("PRICED", "1")
    Path(suite.path, "prices.json").write_text(
        '{"date": "2026-12-01", "source": ["our contract"], '
        '"models": {"llama3.2": {"input": 1, "output": 2}}}'
    )
    suite.makeini("[pytest]\nllmtape_prices = prices.json\n")
    result = suite.runpytest()
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["llmtape: replayed 151 tokens (88 in, 63 out) ≈ $0.0005* not spent"])
    assert "unpriced" not in result.stdout.str()


def test_a_price_table_that_cannot_be_read_stops_the_run_naming_the_file(suite: pytest.Pytester) -> None:
    Path(suite.path, "prices.json").write_text('{"models": {"m": {"input": "cheap"}}}')
    suite.makeini("[pytest]\nllmtape_prices = prices.json\n")
    result = suite.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*prices.json*"])
