"""The ledger: the tokens of one recorded call read from each API's own usage fields (real recordings where
the repository has them, the providers' documented shapes where it has none), added up per model, priced,
sent between processes as JSON, and the lines the run's summary prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from llmtape.cli.importers import from_llama_stack, from_vcr
from llmtape.config import Endpoints
from llmtape.format.chunks import typed
from llmtape.format.recording import (
    Chunk,
    Recording,
    StoredResponse,
    dumps,
    new_recording,
    new_request,
    parse,
)
from llmtape.ledger import UNKNOWN, Ledger, Tokens, dollars, model_lines, summary_line, tokens_of
from llmtape.prices import Price, Prices
from tests.conftest import ROOT

RECORDINGS = ROOT / "recordings"
LLAMA_STACK = ROOT / "tests" / "data" / "llama-stack-recordings"
PYDANTIC_AI = ROOT / "tests" / "data" / "vcr-cassettes" / "pydantic-ai"
PRICES = Prices.load()


def recorded(key: str) -> Recording:
    """A recording of the repository's own record runs, by the start of its key."""
    (path,) = RECORDINGS.glob(f"{key}*.json")
    return parse(path.read_bytes(), path)


def llama_stack(name: str) -> Recording:
    """A llama-stack recording (real provider answers), imported as llmtape stores it."""
    (item,) = from_llama_stack(LLAMA_STACK / f"{name}.json", per_test=False)
    assert isinstance(item, tuple)
    return item[1]


def cassette(name: str) -> Recording:
    """The one interaction of a pydantic-ai cassette (real answers), imported as llmtape stores it."""
    (item,) = from_vcr(PYDANTIC_AI / name, Endpoints())
    assert isinstance(item, tuple)
    return item[1]


def built(
    endpoint: str,
    payloads: list[Any] | Any,
    *,
    request: Any = None,
    headers: dict[str, str] | None = None,
    content_type: str = "text/event-stream",
    method: str = "POST",
    status: int = 200,
) -> Recording:
    """A recording of a documented answer, stored as llmtape stores one and read back through its parser:
    a list of payloads is a stream (an item that is a Chunk already is kept as it is), else one body."""
    streaming = isinstance(payloads, list)

    def chunk(payload: Any) -> Chunk:
        if isinstance(payload, dict) and "__type__" in payload:
            return cast(Chunk, payload)
        return typed(json.dumps(payload), endpoint)

    response: StoredResponse = {
        "status": status,
        "headers": {"content-type": content_type if streaming else "application/json", **(headers or {})},
        "is_streaming": streaming,
        "body": [chunk(p) for p in payloads] if streaming else chunk(payloads),
    }
    stored = new_request(method, f"https://api.example.test{endpoint}", endpoint, {}, request or {})
    return parse(dumps(new_recording(stored, response)), "built.json")


# OpenAI and the APIs shaped like it: real recordings -------------------------------------------------


def test_openai_chat_completion_counts_prompt_and_completion_tokens() -> None:
    assert tokens_of(recorded("0031fcc4f65e")) == ("smollm2-135m-instruct", Tokens(94, 53))


def test_a_streamed_chat_completion_counts_the_usage_of_its_last_chunk() -> None:
    # Recorded with stream_options.include_usage: the final chunk, with no choices, holds the usage; the
    # answer names the dated model that served the request for "gpt-4o".
    assert tokens_of(llama_stack("e30bc6408e187b53410bc3eabdac9c9beeb98bab989d49120681b0633e8a7d83")) == (
        "gpt-4o-2024-08-06",
        Tokens(465, 60),
    )


def test_a_stream_without_include_usage_counts_nothing() -> None:
    assert tokens_of(recorded("d4115b77345e")) is None
    # vLLM's stream chunks all carry "usage": null.
    assert tokens_of(llama_stack("0248ff8a1be5ff5ba88046947059ffbde15a1c52adbeea456bb42abdfc931bd1")) is None


def test_legacy_completions_plain_and_embeddings() -> None:
    completion = llama_stack("c9f153318fe61fb66b52b29c940a2decc5def5e2c19069e084ccfc0b0f5705b3")
    assert tokens_of(completion) == ("llama3.2:3b-instruct-fp16", Tokens(50, 73))
    embeddings = llama_stack("8300c751aa893dbbb4845ab65583e2c3a0b9c05b98a8c8e7b4f6e7126817f358")
    assert tokens_of(embeddings) == ("text-embedding-3-small", Tokens(17, 0))


def test_an_openai_compatible_bedrock_answer_names_its_bedrock_model() -> None:
    recording = llama_stack("89ab0af71f546ace5c1f036d6f28250f969dc0a442e2b9ec6d4e408fe9c88379")
    assert tokens_of(recording) == ("openai.gpt-oss-20b-1:0", Tokens(71, 52))


def test_openai_responses_counts_input_and_output_tokens() -> None:
    assert tokens_of(recorded("f4096485ea9a")) == ("gpt-4o-mini", Tokens(8, 9))


@pytest.mark.parametrize(
    "recording",
    [
        pytest.param(lambda: recorded("4d6bae0ef304"), id="a stored response fetched again (GET)"),
        pytest.param(lambda: recorded("06af30ee0f0d"), id="a file upload"),
        pytest.param(lambda: recorded("a679bb5f79ab"), id="a vector store (usage_bytes)"),
        pytest.param(
            lambda: llama_stack("2bedd41f7dcdc9abc6b83b8ffa0590ef4a6e150778ced3521062224a7c402b3b"),
            id="HTTP 400",
        ),
        pytest.param(
            lambda: llama_stack(
                "models-009fb75503cf565d6c97f70deb8235432b0020b93d55e3b33ea093664c4bbc82-0da7d1b1"
            ),
            id="a model list",
        ),
        pytest.param(lambda: cassette("TestCohere.test_embed_error.yaml"), id="Cohere 404"),
    ],
)
def test_what_is_not_a_billed_answer_counts_nothing(recording: Any) -> None:
    assert tokens_of(recording()) is None


def test_groq_puts_a_streams_usage_in_x_groq() -> None:
    # Groq's documented stream: the last chunk's x_groq holds the usage.
    chunks = [
        {"object": "chat.completion.chunk", "model": "llama-3.3-70b-versatile", "choices": [{"delta": {}}]},
        {
            "object": "chat.completion.chunk",
            "model": "llama-3.3-70b-versatile",
            "choices": [{"delta": {}, "finish_reason": "stop"}],
            "x_groq": {
                "id": "req_01",
                "usage": {"prompt_tokens": 40, "completion_tokens": 7, "total_tokens": 47},
            },
        },
    ]
    found = tokens_of(built("/openai/v1/chat/completions", chunks))
    assert found == ("llama-3.3-70b-versatile", Tokens(40, 7))


def test_a_responses_stream_counts_its_completed_event() -> None:
    # The documented event sequence: created and in_progress carry "usage": null, completed the usage.
    response = {"id": "resp_1", "object": "response", "model": "gpt-4.1-mini-2025-04-14", "usage": None}
    done = {**response, "status": "completed", "usage": {"input_tokens": 21, "output_tokens": 5}}
    events = [
        {"type": "response.created", "response": response},
        {"type": "response.in_progress", "response": response},
        *({"type": "response.output_text.delta", "delta": "x"} for _ in range(20)),
        {"type": "response.completed", "response": done},
    ]
    assert tokens_of(built("/v1/responses", events)) == ("gpt-4.1-mini-2025-04-14", Tokens(21, 5))


# Anthropic Messages: the documented shapes (no recording of the repository has Anthropic usage) ----------


def test_anthropic_counts_cache_writes_and_reads_as_input() -> None:
    message = {
        "type": "message",
        "model": "claude-3-5-haiku-20241022",
        "content": [{"type": "text", "text": "Hi"}],
        "usage": {
            "input_tokens": 12,
            "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 50,
            "output_tokens": 30,
        },
    }
    assert tokens_of(built("/v1/messages", message)) == ("claude-3-5-haiku-20241022", Tokens(162, 30))


def anthropic_stream(delta_usage: dict[str, Any], deltas: int = 30) -> list[Any]:
    start = {
        "type": "message_start",
        "message": {
            "type": "message",
            "model": "claude-sonnet-4-5-20250929",
            "content": [],
            "usage": {"input_tokens": 25, "cache_read_input_tokens": 10, "output_tokens": 1},
        },
    }
    text = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "word "}}
    return [
        start,
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *([text] * deltas),
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": delta_usage},
        {"type": "message_stop"},
    ]


def test_an_anthropic_stream_takes_input_from_message_start_and_output_from_the_last_delta() -> None:
    # Many deltas between them: the input is still read from the stream's first event.
    recording = built("/v1/messages", anthropic_stream({"output_tokens": 15}, deltas=300))
    assert tokens_of(recording) == ("claude-sonnet-4-5-20250929", Tokens(35, 15))


def test_an_anthropic_delta_with_input_fields_is_taken_whole() -> None:
    counted = {"input_tokens": 25, "cache_read_input_tokens": 10, "cache_creation_input_tokens": 5}
    recording = built("/v1/messages", anthropic_stream({**counted, "output_tokens": 15}))
    assert tokens_of(recording) == ("claude-sonnet-4-5-20250929", Tokens(40, 15))


# Gemini and Vertex AI -------------------------------------------------------------------------------


def test_gemini_counts_thoughts_as_output() -> None:
    # Real: promptTokenCount 9, candidatesTokenCount 9, thoughtsTokenCount 34.
    assert tokens_of(cassette("test_google_model.yaml")) == ("gemini-2.5-flash", Tokens(9, 43))


def test_a_gemini_stream_counts_its_last_usage_metadata() -> None:
    # Real: the first two chunks count a prompt of 15 tokens, the last one 13 in and 8 out.
    assert tokens_of(cassette("test_google_model_stream.yaml")) == ("gemini-2.0-flash-exp", Tokens(13, 8))


def gemini_chunk(text: str, metadata: dict[str, Any]) -> dict[str, Any]:
    content = {"parts": [{"text": text}], "role": "model"}
    return {
        "candidates": [{"content": content, "index": 0}],
        "usageMetadata": metadata,
        "modelVersion": "gemini-2.5-pro",
    }


def test_a_gemini_json_array_stream_and_a_vertex_answer_without_model_version() -> None:
    # Without alt=sse, Gemini streams one JSON array, stored one element a chunk.
    chunks = [
        gemini_chunk("Hel", {"promptTokenCount": 4}),
        gemini_chunk("lo", {"promptTokenCount": 4, "candidatesTokenCount": 2, "thoughtsTokenCount": 6}),
    ]
    endpoint = "/v1beta/models/gemini-2.5-pro:streamGenerateContent"
    found = tokens_of(built(endpoint, chunks, content_type="application/json"))
    assert found == ("gemini-2.5-pro", Tokens(4, 8))
    # A whole array stored as one body reads the same.
    whole = {"__type__": "json", "__data__": chunks}
    assert tokens_of(built(endpoint, whole)) == ("gemini-2.5-pro", Tokens(4, 8))
    # Vertex's REST API also writes snake_case; the model is then the one in the URL path.
    vertex = (
        "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash-001:generateContent"
    )
    answer = {"candidates": [], "usage_metadata": {"prompt_token_count": 7, "candidates_token_count": 3}}
    assert tokens_of(built(vertex, answer)) == ("gemini-2.0-flash-001", Tokens(7, 3))


def test_gemini_count_tokens_is_not_a_billed_call() -> None:
    assert tokens_of(built("/v1beta/models/gemini-2.5-flash:countTokens", {"totalTokens": 31})) is None


# Cohere ---------------------------------------------------------------------------------------------


def test_cohere_v2_counts_the_billed_units_before_the_tokens_processed() -> None:
    # Real: usage.tokens is 496 in (Cohere's own preamble included), 11 out; usage.billed_units 1 in, 9 out,
    # which Cohere bills.
    assert tokens_of(cassette("test_request_simple_success_with_vcr.yaml")) == (
        "command-r7b-12-2024",
        Tokens(1, 9),
    )


def test_a_cohere_v2_stream_counts_its_message_end_event() -> None:
    events = [
        {"type": "message-start", "id": "1", "delta": {"message": {"role": "assistant"}}},
        {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Hi"}}}},
        {
            "type": "message-end",
            "delta": {
                "finish_reason": "COMPLETE",
                "usage": {"billed_units": {"input_tokens": 6, "output_tokens": 2}},
            },
        },
    ]
    assert tokens_of(built("/v2/chat", events, request={"model": "command-a-03-2025", "stream": True})) == (
        "command-a-03-2025",
        Tokens(6, 2),
    )


def test_cohere_v1_and_embed_count_their_meta() -> None:
    v1 = {"text": "Hi", "meta": {"billed_units": {"input_tokens": 11, "output_tokens": 2}}}
    assert tokens_of(built("/v1/chat", v1, request={"model": "command-r", "message": "Hi"})) == (
        "command-r",
        Tokens(11, 2),
    )
    embed = {"id": "e", "embeddings": {"float": [[0.1]]}, "meta": {"billed_units": {"input_tokens": 3}}}
    found = tokens_of(built("/v2/embed", embed, request={"model": "embed-v4.0"}))
    assert found == ("embed-v4.0", Tokens(3, 0))


# AWS Bedrock: the documented shapes (the repository's Bedrock recordings come from a stand-in) ----------

CLAUDE = "us.anthropic.claude-3-5-haiku-20241022-v1:0"


def test_bedrock_converse_takes_the_model_from_the_url() -> None:
    answer = {
        "output": {"message": {"role": "assistant", "content": [{"text": "Hi"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 30, "outputTokens": 12, "totalTokens": 42, "cacheReadInputTokens": 8},
    }
    recording = built(f"/model/{CLAUDE.replace(':', '%3A')}/converse", answer, request={"messages": []})
    assert tokens_of(recording) == (CLAUDE, Tokens(38, 12))


def test_bedrock_converse_stream_counts_its_metadata_event() -> None:
    def event(name: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"__type__": "json", "__data__": data, "__event__": name}

    events = [
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi"}}),
        event("messageStop", {"stopReason": "end_turn"}),
        event("metadata", {"usage": {"inputTokens": 9, "outputTokens": 4, "totalTokens": 13}, "metrics": {}}),
    ]
    recording = built(
        "/model/amazon.nova-lite-v1:0/converse-stream",
        events,
        content_type="application/vnd.amazon.eventstream",
    )
    assert tokens_of(recording) == ("amazon.nova-lite-v1:0", Tokens(9, 4))


def test_bedrock_invoke_model_counts_its_token_count_headers() -> None:
    # InvokeModel answers in the model's own format; the headers count its tokens for every model.
    counts = {"x-amzn-bedrock-input-token-count": "17", "x-amzn-bedrock-output-token-count": "5"}
    llama = {"generation": "Hi", "stop_reason": "stop"}
    recording = built("/model/meta.llama3-1-70b-instruct-v1:0/invoke", llama, headers=counts)
    assert tokens_of(recording) == ("meta.llama3-1-70b-instruct-v1:0", Tokens(17, 5))


def test_bedrock_invoke_model_of_anthropic_counts_the_bodys_usage() -> None:
    message = {
        "type": "message",
        "model": "claude-3-5-haiku-20241022",
        "usage": {"input_tokens": 8, "output_tokens": 3},
    }
    recording = built(f"/model/{CLAUDE}/invoke", message, request={"anthropic_version": "bedrock-2023-05-31"})
    assert tokens_of(recording) == ("claude-3-5-haiku-20241022", Tokens(8, 3))


def test_bedrock_invoke_with_response_stream_counts_its_invocation_metrics() -> None:
    def chunk(data: dict[str, Any]) -> dict[str, Any]:
        return {"__type__": "json", "__data__": {"bytes": data}, "__event__": "chunk", "__decoded__": "bytes"}

    text = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}
    metrics = {"inputTokenCount": 14, "outputTokenCount": 6, "invocationLatency": 200, "firstByteLatency": 90}
    events = [
        chunk({"type": "message_start", "message": {"model": "claude-3-5-haiku-20241022", "usage": {}}}),
        chunk(text),
        chunk({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 6}}),
        chunk({"type": "message_stop", "amazon-bedrock-invocationMetrics": metrics}),
    ]
    recording = built(
        f"/model/{CLAUDE}/invoke-with-response-stream",
        events,
        content_type="application/vnd.amazon.eventstream",
    )
    assert tokens_of(recording) == (CLAUDE, Tokens(14, 6))


# Ollama's native API: the documented shapes ---------------------------------------------------------


def test_ollama_counts_the_line_that_is_done() -> None:
    lines = [
        {"model": "llama3.2", "message": {"role": "assistant", "content": "Hi"}, "done": False},
        {
            "model": "llama3.2",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 26,
            "eval_count": 9,
        },
    ]
    recording = built("/api/chat", lines, content_type="application/x-ndjson")
    assert tokens_of(recording) == ("llama3.2", Tokens(26, 9))
    generated = {
        "model": "qwen3:0.6b",
        "response": "Hi",
        "done": True,
        "prompt_eval_count": 4,
        "eval_count": 2,
    }
    assert tokens_of(built("/api/generate", generated)) == ("qwen3:0.6b", Tokens(4, 2))
    embedded = {"model": "all-minilm", "embeddings": [[0.1]], "prompt_eval_count": 6}
    assert tokens_of(built("/api/embed", embedded)) == ("all-minilm", Tokens(6, 0))


# Odd data never raises, and a stream is read from its end -------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        {"usage": "lots"},
        {"usage": {"prompt_tokens": 0, "completion_tokens": 0}},  # counted, but nothing to count
        {"usage": {"prompt_tokens": "12", "completion_tokens": None}},
        {"usage": {"input_tokens": -3, "output_tokens": True}},
        {"usageMetadata": ["not", "an", "object"]},
        {"meta": {"billed_units": 7}},
        {"x_groq": None, "response": 3, "message": [], "delta": "d"},
        {"__type__": "json", "__data__": [1, "two", None]},
        [1, "two", None],
        ["text that is no JSON"],
    ],
)
def test_odd_usage_fields_count_nothing(answer: Any) -> None:
    assert tokens_of(built("/v1/chat/completions", answer)) is None


def test_an_anthropic_delta_without_its_message_start_counts_its_output() -> None:
    recording = built("/v1/messages", [{"type": "message_delta", "usage": {"output_tokens": 4}}])
    assert tokens_of(recording) == (None, Tokens(0, 4))


def test_a_malformed_recording_never_raises() -> None:
    recording: Any = {"request": {"method": "POST", "endpoint": 3}, "response": {"status": "ok", "body": {}}}
    assert tokens_of(recording) is None
    assert tokens_of({"request": None, "response": None}) is None  # type: ignore[typeddict-item]


class Untouchable(dict[str, Any]):
    """A chunk that fails the test when anything reads it."""

    def get(self, *args: Any) -> Any:
        raise AssertionError("tokens_of() read the middle of a stream")


def test_a_long_stream_is_read_from_its_end() -> None:
    # Given a 5,000-chunk stream with its usage in its last chunk
    last = typed(
        json.dumps({"object": "chat.completion.chunk", "model": "gpt-4o", "usage": {"prompt_tokens": 3}})
    )
    recording = built("/v1/chat/completions", [typed(json.dumps({"choices": []}))] * 10 + [last])
    recording["response"]["body"][1:-8] = [Untouchable()] * 5_000
    # Then its middle is never read
    assert tokens_of(recording) == ("gpt-4o", Tokens(3, 0))


# Tokens and the ledger ------------------------------------------------------------------------------


def test_tokens_add_and_total() -> None:
    assert Tokens(3, 4) + Tokens(10, 1) == Tokens(13, 5)
    assert Tokens(13, 5).total == 18
    assert not Tokens()
    assert Tokens(output=1)


def ledger_of(*counts: tuple[str | None, int, int]) -> Ledger:
    ledger = Ledger()
    for model, given, taken in counts:
        ledger.add(model, Tokens(given, taken))
    return ledger


def test_a_ledger_adds_up_per_model_and_merges() -> None:
    ledger = ledger_of(("gpt-4o", 100, 10), ("llama3", 5, 5), ("gpt-4o", 1, 1), (None, 2, 0), ("x", 0, 0))
    ledger.merge(ledger_of(("llama3", 10, 0), (None, 1, 1)))
    assert ledger.by_model() == {
        "gpt-4o": Tokens(101, 11),
        "llama3": Tokens(15, 5),
        UNKNOWN: Tokens(3, 1),
    }  # a call of no tokens adds no model
    assert ledger.total() == Tokens(119, 17)
    assert not Ledger()
    assert ledger


def test_a_ledger_goes_through_json_and_back() -> None:
    ledger = ledger_of(("gpt-4o", 100, 10), (None, 2, 3))
    again = Ledger.from_json(json.loads(json.dumps(ledger.to_json())))
    assert again.by_model() == ledger.by_model()
    assert again.cost(PRICES).unpriced == [UNKNOWN]  # None stays a model no one named


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"models": {}},
        {"models": [{"model": 3, "input": 1, "output": 1}]},
        {"models": [{"input": "1", "output": 0}]},
        {"models": ["gpt-4o"]},
    ],
)
def test_json_that_is_no_ledger_is_refused(data: Any) -> None:
    with pytest.raises(ValueError, match="not a ledger"):
        Ledger.from_json(data)


def test_a_ledger_costs_its_priced_models_and_lists_the_others() -> None:
    ledger = ledger_of(("gpt-4o-2024-08-06", 400_000, 10_000), ("llama3", 1, 1), (None, 1, 0))
    cost = ledger.cost(PRICES)
    assert cost.dollars == pytest.approx(1.10)
    assert cost.by_model == {"gpt-4o-2024-08-06": pytest.approx(1.10)}
    assert cost.unpriced == ["llama3", UNKNOWN]


# The lines of the run's summary ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (1.27, "$1.27"),
        (1234.5, "$1,234.50"),
        (0.01, "$0.01"),
        (0.0027, "$0.0027"),
        (0.00042, "$0.00042"),
        (0.005, "$0.005"),
        (0.0000066, "$0.0000066"),
        (0, "$0.00"),
    ],
)
def test_dollars_to_the_cent_or_to_two_significant_digits(amount: float, text: str) -> None:
    assert dollars(amount) == text


def test_the_summary_line_of_a_replaying_and_a_recording_run() -> None:
    ledger = ledger_of(("gpt-4o", 400_000, 10_000), ("llama3", 1_000, 200))
    assert summary_line("replayed", ledger, PRICES) == (
        "llmtape: replayed 411,200 tokens (401,000 in, 10,200 out) ≈ $1.10 not spent; unpriced: llama3"
    )
    priced = ledger_of(("gpt-4o-mini", 1_000, 234))
    assert summary_line("recorded", priced, PRICES) == (
        "llmtape: recorded 1,234 tokens (1,000 in, 234 out) ≈ $0.00029 spent"
    )


def test_the_summary_line_without_a_priced_model_or_any_token() -> None:
    assert summary_line("replayed", ledger_of(("llama3", 1_000, 200)), PRICES) == (
        "llmtape: replayed 1,200 tokens (1,000 in, 200 out); unpriced: llama3"
    )
    assert summary_line("replayed", Ledger(), PRICES) is None


def test_model_lines_show_each_model_the_most_tokens_first() -> None:
    ledger = ledger_of(("llama3", 500, 500), ("gpt-4o-mini", 10_000, 2_000))
    assert model_lines(ledger, PRICES) == [
        "  gpt-4o-mini: 12,000 tokens (10,000 in, 2,000 out) ≈ $0.0027",
        "  llama3: 1,000 tokens (500 in, 500 out) (unpriced)",
    ]


def test_a_project_price_prices_a_local_model(tmp_path: Path) -> None:
    own = tmp_path / "prices.json"
    own.write_text(json.dumps({"models": {"llama3": {"input": 1, "output": 1}}}))
    prices = Prices.load(own)
    assert prices.price("llama3") == Price(1.0, 1.0)
    assert summary_line("replayed", ledger_of(("llama3", 1_000, 0)), prices) == (
        "llmtape: replayed 1,000 tokens (1,000 in, 0 out) ≈ $0.001 not spent"
    )
