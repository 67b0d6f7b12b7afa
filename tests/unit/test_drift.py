"""Drift: the structural and textual differences between a recorded answer and the live one, and the report
of a drift-mode run (its summary lines, its JSON file, its transfer between pytest-xdist processes)."""

from __future__ import annotations

import base64
import copy
import difflib
import json
import struct
import threading
from pathlib import Path
from typing import Any

import pytest

from llmtape.drift import COMPARED_CHARACTERS, Drift, Entry, Report, compare
from llmtape.format.recording import Recording, StoredResponse, new_recording, new_request, parse
from tests.fake_credentials import credentials

RECORDINGS = Path(__file__).parents[2] / "recordings"
OPENAI, ANTHROPIC, GEMINI = (
    "https://api.openai.com",
    "https://api.anthropic.com",
    "https://example.googleapis.com",
)
GEMINI_CHAT = "/v1beta/models/gemini-2.0-flash:generateContent"


# --- building answers -------------------------------------------------------------------------------------


def answer(data: Any, *, status: int = 200, kind: str = "json") -> StoredResponse:
    """A whole answer in the stored form."""
    return {
        "status": status,
        "headers": {"content-type": "application/json"},
        "is_streaming": False,
        "body": {"__type__": kind, "__data__": data},
    }


def stream(*chunks: Any, events: list[str] | None = None) -> StoredResponse:
    """A streamed answer in the stored form, each chunk with its SSE event name when given."""
    body = [{"__type__": "json", "__data__": data} for data in chunks]
    for chunk, event in zip(body, events or [], strict=False):
        chunk["__event__"] = event
    return {
        "status": 200,
        "headers": {"content-type": "text/event-stream"},
        "is_streaming": True,
        "body": body,
        "sse_done": True,
    }


def recorded(base: str, endpoint: str, response: StoredResponse, model: str = "gpt-4o") -> Recording:
    request = new_request(
        "POST", base + endpoint, endpoint, {"content-type": "application/json"}, {"model": model}
    )
    return new_recording(request, response)


def chat(text: str = "Hello! How can I help you today?", **changes: Any) -> dict[str, Any]:
    """An OpenAI chat completion; ``changes`` replace its top-level fields or, by name, its message's."""
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if "tool_calls" in changes:
        message["tool_calls"] = changes.pop("tool_calls")
    data = {
        "id": "chatcmpl-AbCdEf0123456789",
        "object": "chat.completion",
        "created": 1730000000,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": changes.pop("finish", "stop")}
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20},
        "system_fingerprint": "fp_50cad350e4",
    }
    return {**data, **changes}


def call(name: str, arguments: str, id: str = "call_abc123") -> dict[str, Any]:
    return {"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}


def chat_answer(text: str = "Hello! How can I help you today?", **changes: Any) -> Recording:
    return recorded(OPENAI, "/v1/chat/completions", answer(chat(text, **changes)))


def fresh_chat(text: str = "Hello! How can I help you today?", **changes: Any) -> dict[str, Any]:
    """The same answer as a new call gives it: other id, time, token counts, fingerprint."""
    usage = {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}
    base = {"id": "chatcmpl-ZzYyXx9876543210", "created": 1735555555, "system_fingerprint": "fp_f3927aa00d"}
    return chat(text, **{**base, "usage": usage, **changes})


def chat_chunks(
    pieces: list[str], *, id: str = "chatcmpl-1", created: int = 1730000000
) -> list[dict[str, Any]]:
    """An OpenAI chat stream: the role, one chunk per piece of text, the finish, the usage."""
    head = {"id": id, "object": "chat.completion.chunk", "created": created, "model": "gpt-4o-2024-08-06"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    usage = {**head, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": len(pieces)}}
    return [chunk({"role": "assistant"}), *(chunk({"content": p}) for p in pieces), chunk({}, "stop"), usage]


def tool_chunks(name: str, fragments: list[str], call_id: str = "call_1") -> list[dict[str, Any]]:
    """An OpenAI chat stream that calls one tool, its arguments sent in fragments."""
    start = {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
    deltas = [{"tool_calls": [start]}] + [
        {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]} for piece in fragments
    ]
    head = {"id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o"}
    chunks = [{**head, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    return [*chunks, {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}]


def anthropic_message(*content: dict[str, Any], id: str = "msg_01AbC", tokens: int = 9) -> dict[str, Any]:
    return {
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": list(content) or [{"type": "text", "text": "Bonjour !"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 20, "output_tokens": tokens},
    }


def anthropic_stream(pieces: list[str], *, ping: bool = True, id: str = "msg_01AbC") -> StoredResponse:
    """An Anthropic Messages stream, each event named as the API names it."""
    start = anthropic_message(id=id) | {"content": [], "stop_reason": None}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    if ping:
        events.append(("ping", {"type": "ping"}))
    block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    events.append(("content_block_start", block))
    for piece in pieces:
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
        events.append(("content_block_delta", delta))
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    finish = {"stop_reason": "end_turn", "stop_sequence": None}
    events.append(
        ("message_delta", {"type": "message_delta", "delta": finish, "usage": {"output_tokens": 3}})
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return stream(*(data for _, data in events), events=[name for name, _ in events])


def responses_answer(
    text: str = "Paris.", *, status: str = "completed", id: str = "resp_01"
) -> dict[str, Any]:
    """An OpenAI Responses API answer."""
    message = {
        "type": "message",
        "id": "msg_" + id,
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    return {
        "id": id,
        "object": "response",
        "created_at": 1730000000,
        "status": status,
        "model": "gpt-4o-2024-08-06",
        "output": [message],
        "metadata": {},
        "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7},
    }


def gemini_answer(
    *parts: dict[str, Any], version: str = "gemini-2.0-flash-001", **usage: int
) -> dict[str, Any]:
    return {
        "candidates": [
            {
                "content": {"parts": list(parts) or [{"text": "Hello from Gemini."}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 5, **usage},
        "modelVersion": version,
        "responseId": "abcDEF123",
    }


# --- no drift ---------------------------------------------------------------------------------------------


def test_the_same_answer_with_fresh_ids_times_usage_and_fingerprint_is_no_drift() -> None:
    # Given an OpenAI answer and the same words from a new call (other id, time, counts, fingerprint)
    live = fresh_chat(usage={"prompt_tokens": 12, "completion_tokens": 9, "prompt_tokens_details": {"x": 0}})
    # When they are compared
    drift = compare(chat_answer(), answer(live))
    # Then nothing drifted: those are values, and usage's own fields are counts, not structure
    assert drift == Drift((), 1.0, "Hello! How can I help you today?", "Hello! How can I help you today?")
    assert not drift.has_structural
    assert not drift.textual(0.9)


def test_every_stored_recording_compared_with_itself_is_no_drift() -> None:
    for path in sorted(RECORDINGS.glob("*.json")):
        recording = parse(path.read_bytes(), path)
        drift = compare(recording, copy.deepcopy(recording["response"]))
        assert (path.name, drift.structural, drift.similarity) == (path.name, (), 1.0)


# --- structural drift -------------------------------------------------------------------------------------


def test_another_status_is_structural_and_an_error_s_fields_are_not_compared() -> None:
    error = {"error": {"message": "The model does not exist", "type": "invalid_request_error"}}
    drift = compare(chat_answer(), answer(error, status=404))
    assert drift.structural == ("status 200 → 404",)
    assert drift.live_text == "HTTP 404: The model does not exist"


def test_two_errors_differ_by_their_type_and_code() -> None:
    def error(kind: str, code: str | None) -> dict[str, Any]:
        return {"error": {"message": "no", "type": kind, "param": None, "code": code}}

    before = recorded(
        OPENAI, "/v1/chat/completions", answer(error("invalid_request_error", None), status=400)
    )
    assert compare(before, answer(error("invalid_request_error", None), status=400)).structural == ()
    drift = compare(before, answer(error("invalid_request_error", "context_length_exceeded"), status=400))
    assert drift.structural == ("error code none → context_length_exceeded",)
    # Anthropic's error type sits inside its error object
    anthropic = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    before = recorded(ANTHROPIC, "/v1/messages", answer(anthropic, status=529))
    changed = {"type": "error", "error": {"type": "api_error", "message": "Internal"}}
    assert compare(before, answer(changed, status=529)).structural == (
        "error type overloaded_error → api_error",
    )


def test_another_finish_reason_is_structural() -> None:
    drift = compare(chat_answer(), answer(fresh_chat(finish="length")))
    assert drift.structural == ("finish reason stop → length",)


def test_another_model_named_is_the_model_upgrade_signal() -> None:
    drift = compare(chat_answer(), answer(fresh_chat(model="gpt-4o-2024-11-20")))
    assert drift.structural == ("model gpt-4o-2024-08-06 → gpt-4o-2024-11-20",)


def test_tool_calls_other_names_or_count_are_structural() -> None:
    before = chat_answer(None, tool_calls=[call("get_weather", '{"city": "Paris"}')], finish="tool_calls")
    two = [call("get_weather", '{"city": "Rome"}', "call_x"), call("search", '{"q": "Rome"}', "call_y")]
    drift = compare(before, answer(fresh_chat(None, tool_calls=two, finish="tool_calls")))
    assert drift.structural == ("tool calls [get_weather] → [get_weather, search]",)
    renamed = [call("lookup_weather", '{"city": "Paris"}')]
    drift = compare(before, answer(fresh_chat(None, tool_calls=renamed, finish="tool_calls")))
    assert drift.structural == ("tool calls [get_weather] → [lookup_weather]",)


def test_a_same_named_call_with_other_argument_keys_is_structural_but_other_values_are_not() -> None:
    before = chat_answer(None, tool_calls=[call("get_weather", '{"city": "Paris"}')], finish="tool_calls")
    values = [call("get_weather", '{"city": "Lyon"}', "call_other")]
    assert compare(before, answer(fresh_chat(None, tool_calls=values, finish="tool_calls"))).structural == ()
    keys = [call("get_weather", '{"city": "Paris", "unit": "celsius"}')]
    drift = compare(before, answer(fresh_chat(None, tool_calls=keys, finish="tool_calls")))
    assert drift.structural == ("get_weather arguments {city} → {city, unit}",)


def test_arguments_that_are_not_json_count_only_as_present_or_not() -> None:
    before = chat_answer(None, tool_calls=[call("run", "ls -la")], finish="tool_calls")
    other = [call("run", "pwd")]
    assert compare(before, answer(fresh_chat(None, tool_calls=other, finish="tool_calls"))).structural == ()
    empty = [call("run", "")]
    drift = compare(before, answer(fresh_chat(None, tool_calls=empty, finish="tool_calls")))
    assert drift.structural == ("run arguments (text) → (none)",)


def test_fields_added_and_dropped_are_named_by_their_folded_paths() -> None:
    live = fresh_chat()
    del live["system_fingerprint"]
    live["choices"][0]["message"]["annotations"] = []
    live["service_tier"] = "default"
    drift = compare(chat_answer(), answer(live))
    assert drift.structural == (
        "fields added: choices[].message.annotations, service_tier; fields dropped: system_fingerprint",
    )


def test_a_field_added_with_its_subfields_is_named_once() -> None:
    live = fresh_chat()
    live["choices"][0]["logprobs"] = {"content": [{"token": "Hi", "logprob": -0.1, "top_logprobs": []}]}
    before = chat_answer()
    del before["response"]["body"]["__data__"]["choices"][0]["logprobs"]
    assert compare(before, answer(live)).structural == ("fields added: choices[].logprobs",)


def test_a_long_list_of_fields_is_cut_short() -> None:
    live = fresh_chat(**{f"extra_{n:02}": n for n in range(12)})
    (difference,) = compare(chat_answer(), answer(live)).structural
    assert difference.startswith("fields added: extra_00, extra_01,")
    assert difference.endswith("extra_07 (and 4 more)")


def test_a_streamed_answer_become_whole_is_structural_without_field_noise() -> None:
    before = recorded(
        OPENAI, "/v1/chat/completions", stream(*chat_chunks(["Hello! How can I help you today?"]))
    )
    drift = compare(before, answer(fresh_chat()))
    assert drift.structural == ("streamed → not streamed",)
    assert drift.similarity == 1.0


# --- OpenAI chat streams ----------------------------------------------------------------------------------


def test_a_chat_stream_with_fresh_ids_and_other_chunking_is_no_drift() -> None:
    before = recorded(OPENAI, "/v1/chat/completions", stream(*chat_chunks(["Hello", " there", "!"])))
    live = stream(*chat_chunks(["Hel", "lo there!"], id="chatcmpl-new", created=1799999999))
    assert compare(before, live) == Drift((), 1.0, "Hello there!", "Hello there!")


def test_a_chat_stream_s_fields_are_the_union_over_its_chunks() -> None:
    before = recorded(OPENAI, "/v1/chat/completions", stream(*chat_chunks(["Hi"])))
    chunks = chat_chunks(["Hi"])
    chunks[1]["choices"][0]["delta"]["refusal"] = None  # one chunk is enough to add a field
    chunks[-1].pop("choices")
    drift = compare(before, stream(*chunks))
    assert drift.structural == ("fields added: choices[].delta.refusal",)  # other chunks still hold choices


def test_a_streamed_tool_call_is_judged_on_its_arguments_put_together() -> None:
    before = recorded(OPENAI, "/v1/chat/completions", stream(*tool_chunks("lookup", ['{"qu', 'ery": "x"}'])))
    same = stream(*tool_chunks("lookup", ['{"query"', ': "y"}'], "call_other"))
    assert compare(before, same).structural == ()
    more = stream(*tool_chunks("lookup", ['{"query": "x",', ' "unit": "c"}']))
    assert compare(before, more).structural == ("lookup arguments {query} → {query, unit}",)


def test_a_live_stream_cut_short_is_structural() -> None:
    before = recorded(OPENAI, "/v1/chat/completions", stream(*chat_chunks(["Hello"])))
    live = stream(*chat_chunks(["Hello"])[:2])
    live["incomplete"] = {"error": "RemoteProtocolError", "message": "peer closed connection"}
    # The fields of its end are missing, but that is no change of the API's
    assert compare(before, live).structural == (
        "finish reason stop → none",
        "live stream cut short (RemoteProtocolError: peer closed connection)",
    )


# --- OpenAI Responses -------------------------------------------------------------------------------------


def test_responses_status_is_its_finish_and_its_metadata_keys_are_data() -> None:
    before = recorded(OPENAI, "/v1/responses", answer(responses_answer()))
    fresh = responses_answer(id="resp_02") | {"metadata": {"user": "ada"}, "created_at": 1799999999}
    assert compare(before, answer(fresh)).structural == ()
    drift = compare(before, answer(responses_answer(status="incomplete")))
    assert drift.structural == ("finish reason completed → incomplete",)


def test_a_responses_stream_s_random_padding_is_no_field() -> None:
    def events(obfuscation: str | None) -> StoredResponse:
        created = {"type": "response.created", "response": responses_answer(status="in_progress")}
        delta = {"type": "response.output_text.delta", "delta": "Paris.", "output_index": 0}
        if obfuscation is not None:
            delta["obfuscation"] = obfuscation
        done = {"type": "response.completed", "response": responses_answer()}
        names = ["response.created", "response.output_text.delta", "response.completed"]
        return stream(created, delta, done, events=names)

    # The recording lost its padding (stable ids drop it); the live answer still has it
    drift = compare(recorded(OPENAI, "/v1/responses", events(None)), events("x7Yq"))
    assert drift == Drift((), 1.0, "Paris.", "Paris.")


# --- Anthropic --------------------------------------------------------------------------------------------


def test_an_anthropic_tool_use_s_input_keys_are_judged_by_the_argument_rule_only() -> None:
    def use(arguments: dict[str, Any]) -> dict[str, Any]:
        return {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": arguments}

    before = recorded(ANTHROPIC, "/v1/messages", answer(anthropic_message(use({"city": "Paris"}))))
    fresh = anthropic_message(use({"city": "Nice"}), id="msg_02XyZ", tokens=11)
    assert compare(before, answer(fresh)).structural == ()
    drift = compare(before, answer(anthropic_message(use({"city": "Paris", "unit": "c"}))))
    assert drift.structural == ("get_weather arguments {city} → {city, unit}",)


def test_an_anthropic_answer_in_words_drifts_textually() -> None:
    before = recorded(ANTHROPIC, "/v1/messages", answer(anthropic_message()))
    live = anthropic_message({"type": "text", "text": "Salut, ça va ?"}, id="msg_other")
    drift = compare(before, answer(live))
    assert drift.structural == ()
    assert drift.similarity == difflib.SequenceMatcher(None, "Bonjour !", "Salut, ça va ?").ratio()
    assert drift.textual(0.9)
    assert (drift.recorded_text, drift.live_text) == ("Bonjour !", "Salut, ça va ?")


def test_an_anthropic_stream_s_event_types_gained_or_lost_are_structural() -> None:
    before = recorded(ANTHROPIC, "/v1/messages", anthropic_stream(["Bon", "jour !"]))
    assert compare(before, anthropic_stream(["Bonjour", " !"], id="msg_new")).structural == ()
    live = anthropic_stream(["Bonjour !"], ping=False)
    live["body"].insert(1, {"__type__": "json", "__event__": "signals", "__data__": {"type": "signals"}})
    drift = compare(before, live)
    assert drift.structural == ("stream events added: signals; stream events dropped: ping",)


# --- Gemini -----------------------------------------------------------------------------------------------


def test_gemini_model_version_finish_and_function_call_keys() -> None:
    before = recorded(GEMINI, GEMINI_CHAT, answer(gemini_answer()), model="")
    # Other counts (and a count field more) are not drift
    assert compare(before, answer(gemini_answer(totalTokenCount=9, thoughtsTokenCount=2))).structural == ()
    drift = compare(before, answer(gemini_answer(version="gemini-2.0-flash-002")))
    assert drift.structural == ("model gemini-2.0-flash-001 → gemini-2.0-flash-002",)
    stopped = gemini_answer()
    stopped["candidates"][0]["finishReason"] = "MAX_TOKENS"
    assert compare(before, answer(stopped)).structural == ("finish reason STOP → MAX_TOKENS",)

    def called(**args: str) -> dict[str, Any]:
        return gemini_answer({"functionCall": {"name": "get_weather", "args": args}})

    tools = recorded(GEMINI, GEMINI_CHAT, answer(called(city="Paris")))
    assert compare(tools, answer(called(city="Oslo"))).structural == ()
    assert compare(tools, answer(called(city="Oslo", unit="c"))).structural == (
        "get_weather arguments {city} → {city, unit}",
    )


# --- embeddings and answers that are not words ------------------------------------------------------------


def openai_vectors(size: int, count: int = 1, *, as_base64: bool = False) -> dict[str, Any]:
    vector: Any = [0.01] * size
    if as_base64:
        vector = base64.b64encode(struct.pack(f"<{size}f", *vector)).decode()
    items = [{"object": "embedding", "index": n, "embedding": vector} for n in range(count)]
    usage = {"prompt_tokens": 3, "total_tokens": 3}
    return {"object": "list", "data": items, "model": "text-embedding-3-small", "usage": usage}


@pytest.mark.parametrize("as_base64", [False, True])
def test_an_embedding_s_length_and_count_are_structural_and_its_values_are_not(as_base64: bool) -> None:
    before = recorded(OPENAI, "/v1/embeddings", answer(openai_vectors(1536, as_base64=as_base64)))
    other = openai_vectors(1536, as_base64=as_base64)
    other["data"][0]["embedding"] = other["data"][0]["embedding"][::-1]
    same = compare(before, answer(other))
    assert (same.structural, same.similarity, same.recorded_text == same.live_text) == ((), 1.0, True)
    drift = compare(before, answer(openai_vectors(3072, 2, as_base64=as_base64)))
    assert drift.structural == ("embeddings 1 → 2", "embedding length 1536 → 3072")
    assert drift.similarity == 1.0


def test_a_gemini_embedding_s_values_length() -> None:
    endpoint = "/v1beta/models/text-embedding-004:embedContent"
    before = recorded(GEMINI, endpoint, answer({"embedding": {"values": [0.5] * 768}}))
    drift = compare(before, answer({"embedding": {"values": [0.25] * 256}}))
    assert drift.structural == ("embedding length 768 → 256",)


def test_an_endpoint_shown_as_raw_json_has_no_text_to_drift() -> None:
    # A file upload's answer is shown as its JSON, which holds fresh ids: no measure of words
    upload = {"id": "file-abc", "object": "file", "bytes": 12, "created_at": 1, "filename": "a.txt"}
    before = recorded(OPENAI, "/v1/files", answer(upload))
    drift = compare(before, answer(upload | {"id": "file-xyz", "created_at": 2}))
    assert (drift.structural, drift.similarity) == ((), 1.0)


# --- the textual score ------------------------------------------------------------------------------------


def test_similarity_is_difflib_s_ratio_of_the_texts() -> None:
    old, new = "The capital of France is Paris.", "Paris is the capital of France."
    drift = compare(chat_answer(old), answer(fresh_chat(new)))
    assert drift.similarity == difflib.SequenceMatcher(None, old, new, autojunk=False).ratio()
    assert 0.0 < drift.similarity < 1.0


def test_two_empty_texts_are_alike_and_one_empty_text_is_not() -> None:
    assert compare(chat_answer(""), answer(fresh_chat(""))).similarity == 1.0
    assert compare(chat_answer("Hi"), answer(fresh_chat(""))).similarity == 0.0


def test_only_the_first_characters_of_a_long_text_are_compared() -> None:
    head = "word " * (COMPARED_CHARACTERS // 5)
    drift = compare(
        chat_answer(head + "one ending"), answer(fresh_chat(head + "another, much longer ending"))
    )
    assert drift.similarity == 1.0
    assert len(drift.recorded_text) == COMPARED_CHARACTERS


def test_textual_drift_is_a_similarity_below_the_threshold() -> None:
    drift = Drift((), 0.9, "a", "b")
    assert not drift.textual(0.9)
    assert drift.textual(0.91)


# --- real recordings as the recorded side -----------------------------------------------------------------


def stored(prefix: str) -> Recording:
    (path,) = RECORDINGS.glob(f"{prefix}*.json")
    return parse(path.read_bytes(), path)


def test_a_real_stream_reworded_or_stopped_otherwise() -> None:
    recording = stored("03f722266ff7")  # a chat stream cut by max tokens
    live = copy.deepcopy(recording["response"])
    for chunk in live["body"]:
        for choice in chunk["__data__"]["choices"]:
            if choice["delta"].get("content"):
                choice["delta"]["content"] = choice["delta"]["content"].upper()
    drift = compare(recording, live)
    assert drift.structural == ()
    assert drift.textual(0.9)
    assert drift.live_text == drift.recorded_text.upper()
    live["body"][-1]["__data__"]["choices"][0]["finish_reason"] = "stop"
    assert compare(recording, live).structural == ("finish reason length → stop",)


def test_a_real_answer_with_a_field_more() -> None:
    recording = stored("0031fcc4f65e")
    live = copy.deepcopy(recording["response"])
    live["body"]["__data__"]["service_tier"] = "default"
    live["body"]["__data__"]["id"] = "chatcmpl-another"
    assert compare(recording, live).structural == ("fields added: service_tier",)


# --- the report -------------------------------------------------------------------------------------------


def entry(test: str, drift: Drift | None, error: str | None = None, name: str = "3f2a") -> Entry:
    url = "https://api.openai.com/v1/chat/completions"
    return Entry(test, f"recordings/{name}.json", "POST", url, "gpt-4o", drift, error)


def sample() -> Report:
    report = Report()
    report.add(entry("tests/test_chat.py::test_same", Drift((), 0.97, "Hi", "Hi!"), name="aa"))
    report.add(entry("tests/test_chat.py::test_down", None, "ConnectError: connection refused", name="bb"))
    greeting = Drift((), 0.42, "Hello! How can I help you today?", "Hi there, what can I do for you?")
    report.add(entry("tests/test_chat.py::test_greeting", greeting, name="91bc"))
    tools = Drift(("tool calls [get_weather] → [lookup_weather]",), 0.8, "", "")
    report.add(entry("tests/test_chat.py::test_tools", tools, name="3f2a"))
    return report


def test_the_summary_counts_then_lists_each_drifted_or_failed_call() -> None:
    assert sample().lines(0.9, verbose=False) == [
        "llmtape drift: 4 calls compared with the live API: 1 structural drift, 1 textual drift "
        "(similarity < 0.90), 1 failed",
        "  STRUCTURAL tests/test_chat.py::test_tools  recordings/3f2a.json",
        "    tool calls [get_weather] → [lookup_weather]",
        "  text 0.42 tests/test_chat.py::test_greeting  recordings/91bc.json",
        '    recorded: "Hello! How can I help you today?"   live: "Hi there, what can I do for you?"',
        "  FAILED tests/test_chat.py::test_down  recordings/bb.json",
        "    POST https://api.openai.com/v1/chat/completions: ConnectError: connection refused",
        "  to take the live answers as the new recordings: pytest --llmtape-mode=rewrite "
        "tests/test_chat.py::test_greeting tests/test_chat.py::test_tools",
    ]


def test_a_verbose_summary_lists_the_unchanged_calls_too() -> None:
    lines = sample().lines(0.4, verbose=True)
    assert lines[0].endswith("1 structural drift, 0 textual drift (similarity < 0.40), 1 failed")
    assert lines[-3:-1] == [
        "  same 0.42 tests/test_chat.py::test_greeting  recordings/91bc.json",
        "  same 0.97 tests/test_chat.py::test_same  recordings/aa.json",
    ]


def test_a_summary_of_nothing_compared_and_of_one_call() -> None:
    assert Report().lines(0.9) == [
        "llmtape drift: no call was compared with the live API (no recording was replayed)"
    ]
    report = Report()
    report.add(entry("t::a", Drift((), 1.0, "x", "x")))
    assert report.lines(0.9) == [
        "llmtape drift: 1 call compared with the live API: 0 structural drift, 0 textual drift "
        "(similarity < 0.90), 0 failed"
    ]


def test_long_texts_are_previewed_short_in_the_summary() -> None:
    report = Report()
    report.add(entry("t::a", Drift((), 0.1, "a" * 200, "b\n" * 100)))
    line = report.lines(0.9)[2]
    escaped_newlines = "b\\n" * 29 + "b"  # as JSON shows them
    assert line == '    recorded: "' + "a" * 59 + '…"   live: "' + escaped_newlines + '…"'


def test_the_report_sorts_its_calls_into_kinds() -> None:
    report = sample()
    assert [e.test for e in report.structural()] == ["tests/test_chat.py::test_tools"]
    assert [e.test for e in report.textual(0.9)] == ["tests/test_chat.py::test_greeting"]
    assert [e.test for e in report.textual(0.98)] == [
        "tests/test_chat.py::test_greeting",
        "tests/test_chat.py::test_same",
    ]
    assert [e.test for e in report.errors()] == ["tests/test_chat.py::test_down"]


def test_the_report_file(tmp_path: Path) -> None:
    report = sample()
    long_text = "é" * 800
    report.add(entry("tests/test_long.py::test_long", Drift((), 0.5, long_text, "x"), name="cc"))
    target = tmp_path / "reports" / "drift.json"
    report.write(target, 0.9)
    content = target.read_bytes()
    assert content.endswith(b"}\n")
    assert "é".encode() in content  # UTF-8, not escaped
    document = json.loads(content)
    assert {
        key: document[key] for key in ("llmtape", "threshold", "compared", "structural", "textual", "failed")
    } == {
        "llmtape": {"drift_report": 1},
        "threshold": 0.9,
        "compared": 5,
        "structural": 1,
        "textual": 2,
        "failed": 1,
    }
    calls = {call["test"].rpartition("::")[2]: call for call in document["calls"]}
    assert calls["test_tools"] == {
        "test": "tests/test_chat.py::test_tools",
        "recording": "recordings/3f2a.json",
        "method": "POST",
        "url": "https://api.openai.com/v1/chat/completions",
        "model": "gpt-4o",
        "status": "structural",
        "structural": ["tool calls [get_weather] → [lookup_weather]"],
        "similarity": 0.8,
        "recorded_text": "",
        "live_text": "",
        "error": None,
    }
    assert (calls["test_down"]["status"], calls["test_down"]["similarity"]) == ("failed", None)
    assert calls["test_down"]["error"] == "ConnectError: connection refused"
    assert [calls[name]["status"] for name in ("test_same", "test_greeting")] == ["same", "textual"]
    assert len(calls["test_long"]["recorded_text"]) == 500
    assert calls["test_long"]["recorded_text"].endswith("…")
    assert list(tmp_path.joinpath("reports").iterdir()) == [target]  # no temporary file left beside it


def test_a_worker_s_report_merges_into_the_controller_s_unchanged() -> None:
    worker = sample()
    data = json.loads(json.dumps(worker.to_json()))  # as it travels between processes
    controller = Report()
    controller.add(entry("tests/test_other.py::test_x", Drift((), 1.0, "a", "a")))
    controller.merge_json(data)
    controller.merge_json(None)
    assert len(controller.entries) == 5
    assert [e for e in controller.entries if e.test != "tests/test_other.py::test_x"] == worker.entries
    assert controller.lines(0.9)[0].startswith("llmtape drift: 5 calls compared")


def test_a_worker_sends_its_texts_cut_short() -> None:
    worker = Report()
    worker.add(entry("t::a", Drift((), 0.5, "x" * 5000, "y")))
    (sent,) = worker.to_json()["calls"]
    assert len(sent["recorded_text"]) == 500


def test_entries_added_from_many_threads_are_all_kept() -> None:
    report = Report()

    def add(n: int) -> None:
        for index in range(200):
            report.add(entry(f"t::{n}-{index:03}", Drift((), 1.0, "", "")))

    threads = [threading.Thread(target=add, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({e.test for e in report.entries}) == 1600


def test_credentials_never_reach_the_summary_the_file_or_a_worker_s_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a credential in the environment, and another credential-shaped value that is not
    secret, other = credentials()["OpenAI key"], credentials(seed=1)["Anthropic key"]
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    report = Report()
    drifted = Drift(
        (f"fields added: {secret}, {other}",), 0.1, f"your key is {secret}", f"try {other} instead"
    )
    report.add(entry("t::leak", drifted))
    report.add(entry("t::down", None, f"ConnectError: https://api.example.com/?api_key={secret}"))
    # When the report is shown, written and sent
    report.write(tmp_path / "drift.json", 0.9)
    outputs = [
        "\n".join(report.lines(0.9, verbose=True)),
        (tmp_path / "drift.json").read_text(),
        json.dumps(report.to_json(), ensure_ascii=False),
    ]
    # Then neither value appears, and the environment's is named by its variable
    for output in outputs:
        assert secret not in output
        assert other not in output
        assert "<OPENAI_API_KEY>" in output
        assert other[:6] + "…" in output
