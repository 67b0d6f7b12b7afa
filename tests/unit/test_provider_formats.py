"""Gemini/Vertex and Cohere payloads in their documented wire formats: the ``__type__`` each is stored as, the
SDK class that type names parsing it, and the reply, messages, tools and model read from a recording."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from llmtape.cli.verify import drift
from llmtape.format import typemap
from llmtape.format.assemble import messages, model, reply, tools
from llmtape.format.chunks import typed
from llmtape.format.recording import Recording, dumps, new_recording, new_request, parse
from llmtape.format.typemap import JSON_TYPE, SDK_CLASSES, sdk_class, type_name

GEMINI = "/v1beta/models/gemini-2.0-flash"
VERTEX = "/v1beta1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.0-flash"
VERTEX_V1 = "/v1/projects/my-project/locations/europe-west4/publishers/google/models/gemini-2.5-pro"
GENAI = "google.genai.types"
COHERE_STREAM = "cohere.v2.types.v2chat_stream_response"

# Gemini -------------------------------------------------------------------------------------------------

USAGE = {
    "promptTokenCount": 9,
    "candidatesTokenCount": 12,
    "totalTokenCount": 21,
    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 9}],
}
GENERATED = {
    "candidates": [
        {
            "content": {"parts": [{"text": "Paris is the capital of France."}], "role": "model"},
            "finishReason": "STOP",
            "avgLogprobs": -0.0213,
            "index": 0,
        }
    ],
    "usageMetadata": USAGE,
    "modelVersion": "gemini-2.0-flash-001",
    "responseId": "kRBGaLXKNoqW1dkPmOThmAk",
}
STREAMED = [
    {
        "candidates": [{"content": {"parts": [{"text": "Let me"}], "role": "model"}, "index": 0}],
        "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
        "modelVersion": "gemini-2.0-flash-001",
        "responseId": "a1",
    },
    {
        "candidates": [
            {
                "content": {"parts": [{"text": " check.", "thought": False}], "role": "model"},
                "index": 0,
            }
        ],
        "modelVersion": "gemini-2.0-flash-001",
        "responseId": "a1",
    },
    {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {"functionCall": {"name": "get_weather", "args": {"city": "Paris", "days": 2}}}
                    ],
                    "role": "model",
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": USAGE,
        "modelVersion": "gemini-2.0-flash-001",
        "responseId": "a1",
    },
]
THINKING = {
    "candidates": [
        {
            "content": {
                "parts": [{"text": "The user greets me.", "thought": True}, {"text": "Hello!"}],
                "role": "model",
            },
            "finishReason": "STOP",
        }
    ],
    "usageMetadata": {**USAGE, "thoughtsTokenCount": 40},
    "modelVersion": "gemini-2.5-pro",
    "createTime": "2025-06-01T10:00:00.123456Z",
    "responseId": "v1",
}
BLOCKED = {
    "promptFeedback": {"blockReason": "SAFETY"},
    "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
    "modelVersion": "gemini-2.0-flash-001",
}
COUNTED = {"totalTokens": 31, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 31}]}
EMBEDDED_ONE = {"embedding": {"values": [0.013, -0.008, 0.021]}}
EMBEDDED_BATCH = {"embeddings": [{"values": [0.1, 0.2, 0.3]}, {"values": [0.4, 0.5, 0.6]}]}
GOOGLE_ERROR = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
    }
}
GEMINI_REQUEST = {
    "contents": [
        {"role": "user", "parts": [{"text": "What is the weather in Paris?"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
        {
            "role": "user",
            "parts": [{"functionResponse": {"name": "get_weather", "response": {"celsius": 21}}}],
        },
    ],
    "systemInstruction": {"parts": [{"text": "Answer in one sentence."}]},
    "tools": [
        {"functionDeclarations": [{"name": "get_weather", "parameters": {"type": "OBJECT"}}]},
        {"googleSearch": {}},
    ],
    "generationConfig": {"temperature": 0},
}


@pytest.mark.parametrize(
    ("endpoint", "payload", "expected"),
    [
        (f"{GEMINI}:generateContent", GENERATED, f"{GENAI}.GenerateContentResponse"),
        (f"{GEMINI}:streamGenerateContent", STREAMED[2], f"{GENAI}.GenerateContentResponse"),
        (f"{VERTEX}:generateContent", THINKING, f"{GENAI}.GenerateContentResponse"),
        (f"{VERTEX_V1}:streamGenerateContent", STREAMED[0], f"{GENAI}.GenerateContentResponse"),
        (f"{GEMINI}:generateContent", BLOCKED, f"{GENAI}.GenerateContentResponse"),
        (f"{GEMINI}:batchEmbedContents", EMBEDDED_BATCH, f"{GENAI}.EmbedContentResponse"),
        (f"{VERTEX}:batchEmbedContents", EMBEDDED_BATCH, f"{GENAI}.EmbedContentResponse"),
        (f"{GEMINI}:countTokens", COUNTED, JSON_TYPE),
        (f"{GEMINI}:embedContent", EMBEDDED_ONE, JSON_TYPE),
        (f"{GEMINI}:generateContent", GOOGLE_ERROR, JSON_TYPE),
        (f"{VERTEX}:streamGenerateContent", GOOGLE_ERROR, JSON_TYPE),
        (f"{GEMINI}:batchEmbedContents", GOOGLE_ERROR, JSON_TYPE),
    ],
)
def test_gemini_payloads_are_typed_by_their_method(endpoint: str, payload: Any, expected: str) -> None:
    assert type_name(payload, endpoint) == expected
    assert typed(json.dumps(payload), endpoint) == {"__type__": expected, "__data__": payload}


@pytest.mark.parametrize(
    "payload", [GENERATED, *STREAMED, THINKING, BLOCKED], ids=["plain", "s0", "s1", "s2", "vertex", "blocked"]
)
def test_a_generate_content_answer_parses_as_the_class_it_is_typed_as(payload: dict[str, Any]) -> None:
    name = type_name(payload, f"{GEMINI}:generateContent")
    parsed = sdk_class(name).model_validate(payload)  # type: ignore[union-attr]
    assert parsed.model_version == payload["modelVersion"]
    assert drift(name, payload) == []  # the class forbids unknown fields: nothing is left over


def test_a_batch_of_embeddings_parses_as_the_class_it_is_typed_as() -> None:
    name = type_name(EMBEDDED_BATCH, f"{GEMINI}:batchEmbedContents")
    parsed = sdk_class(name).model_validate(EMBEDDED_BATCH)  # type: ignore[union-attr]
    assert [e.values for e in parsed.embeddings] == [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]
    assert drift(name, EMBEDDED_BATCH) == []


@pytest.mark.parametrize(
    ("class_name", "payload"), [("CountTokensResponse", COUNTED), ("EmbedContentResponse", EMBEDDED_ONE)]
)
def test_count_tokens_and_one_embedding_stay_json_as_no_class_parses_them_as_sent(
    class_name: str, payload: dict[str, Any]
) -> None:
    # The SDK copies some fields into these classes; the answers as sent hold fields the classes forbid.
    from google.genai import types

    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        getattr(types, class_name).model_validate(payload)


# Cohere -------------------------------------------------------------------------------------------------

COHERE_CHAT = {
    "id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4",
    "message": {
        "role": "assistant",
        "tool_plan": "I will look up the weather in Paris.",
        "tool_calls": [
            {
                "id": "get_weather_1byjy32y4hvq",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            }
        ],
    },
    "finish_reason": "TOOL_CALL",
    "usage": {
        "billed_units": {"input_tokens": 37, "output_tokens": 21},
        "tokens": {"input_tokens": 1015, "output_tokens": 54},
    },
}
COHERE_TEXT = {
    "id": "5a50480a-cf52-46f0-af01-53d18539bd31",
    "message": {"role": "assistant", "content": [{"type": "text", "text": "Hello! How can I help?"}]},
    "finish_reason": "COMPLETE",
    "usage": {
        "billed_units": {"input_tokens": 3, "output_tokens": 7},
        "tokens": {"input_tokens": 69, "output_tokens": 7},
    },
}
OPENING = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
COHERE_EVENTS = [
    {"id": "29f14a5a", "type": "message-start", "delta": {"message": OPENING}},
    {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "I will check"}}},
    {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": " the weather."}}},
    {
        "type": "tool-call-start",
        "index": 0,
        "delta": {
            "message": {
                "tool_calls": {
                    "id": "get_weather_nsz5zm3w56q3",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            }
        },
    },
    {
        "type": "tool-call-delta",
        "index": 0,
        "delta": {"message": {"tool_calls": {"function": {"arguments": '{"ci'}}}},
    },
    {
        "type": "tool-call-delta",
        "index": 0,
        "delta": {"message": {"tool_calls": {"function": {"arguments": 'ty":"Paris"}'}}}},
    },
    {"type": "tool-call-end", "index": 0},
    {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}},
    {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Checking"}}}},
    {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": " now."}}}},
    {"type": "content-end", "index": 0},
    {
        "type": "citation-start",
        "index": 0,
        "delta": {"message": {"citations": {"start": 0, "end": 8, "text": "Checking", "sources": []}}},
    },
    {"type": "citation-end", "index": 0},
    {
        "type": "message-end",
        "delta": {
            "finish_reason": "TOOL_CALL",
            "usage": {
                "billed_units": {"input_tokens": 20, "output_tokens": 9},
                "tokens": {"input_tokens": 900, "output_tokens": 40},
            },
        },
    },
    {"type": "debug", "prompt": "<BOS_TOKEN>..."},
]
COHERE_EMBED = {
    "id": "da6e531f-54c6-4a73-bf92-f60566d8d753",
    "embeddings": {
        "float": [[0.016, -0.008, 0.02, 0.1], [0.01, 0.02, 0.03, 0.04]],
        "int8": [[12, -5, 9, 1], [3, 4, 5, 6]],
    },
    "texts": ["hello", "goodbye"],
    "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 2}},
    "response_type": "embeddings_by_type",
}
COHERE_RERANK = {
    "id": "07734bd2-2473-4f07-94e1-0d9f0e6843cf",
    "results": [{"index": 2, "relevance_score": 0.9995}, {"index": 0, "relevance_score": 0.0341}],
    "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
}
COHERE_ERROR = {"id": "a6f8b0b4-6ad4-4b0c-9c2b-1e8b3b4a9f21", "message": "invalid api token"}


@pytest.mark.parametrize("event", COHERE_EVENTS, ids=[e["type"] for e in COHERE_EVENTS])
def test_each_cohere_stream_event_is_typed_by_its_type(event: dict[str, Any]) -> None:
    name = type_name(event, "/v2/chat")
    words = "".join(part.capitalize() for part in event["type"].split("-"))
    assert name == f"{COHERE_STREAM}.{words}V2ChatStreamResponse"
    assert sdk_class(name).model_validate(event).type == event["type"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("endpoint", "payload", "expected"),
    [
        ("/v2/chat", COHERE_CHAT, "cohere.v2.types.v2chat_response.V2ChatResponse"),
        ("/v2/chat", COHERE_TEXT, "cohere.v2.types.v2chat_response.V2ChatResponse"),
        ("/v2/embed", COHERE_EMBED, "cohere.types.embed_by_type_response.EmbedByTypeResponse"),
        ("/v2/rerank", COHERE_RERANK, "cohere.v2.types.v2rerank_response.V2RerankResponse"),
        ("/v1/rerank", COHERE_RERANK, "cohere.types.rerank_response.RerankResponse"),
        ("/v2/chat", COHERE_ERROR, JSON_TYPE),
        ("/v2/embed", COHERE_ERROR, JSON_TYPE),
        ("/v2/rerank", {"message": "too many documents"}, JSON_TYPE),
    ],
)
def test_cohere_answers_are_typed_by_their_endpoint(endpoint: str, payload: Any, expected: str) -> None:
    assert type_name(payload, endpoint) == expected
    if expected != JSON_TYPE:
        assert drift(expected, payload) == []


def test_every_name_of_the_map_names_an_installed_class() -> None:
    assert {name for name in SDK_CLASSES if sdk_class(name) is None} == set()


# Reading a recording --------------------------------------------------------------------------------------


def recording(
    endpoint: str, body: Any, chunks: list[Any], *, streaming: bool = True, status: int = 200
) -> Recording:
    items = [typed(json.dumps(chunk), endpoint) for chunk in chunks]
    response = {
        "status": status,
        "headers": {"content-type": "application/json"},
        "is_streaming": streaming,
        "body": items if streaming else items[0],
    }
    made = new_recording(new_request("POST", f"https://host{endpoint}", endpoint, {}, body), response)  # type: ignore[arg-type]
    return parse(dumps(made), "test.json")  # what every reader reads: through the format's parser


def test_a_gemini_stream_is_put_together_over_its_chunks() -> None:
    answer = reply(recording(f"{GEMINI}:streamGenerateContent", GEMINI_REQUEST, STREAMED))
    assert answer.text == "Let me check."
    assert [(c.name, json.loads(c.arguments)) for c in answer.tool_calls] == [
        ("get_weather", {"city": "Paris", "days": 2})
    ]
    assert answer.finish == "STOP"
    assert answer.usage == {"promptTokenCount": 9, "candidatesTokenCount": 12, "totalTokenCount": 21}


def test_gemini_thoughts_are_reasoning_and_a_blocked_prompt_says_why() -> None:
    thinking = reply(recording(f"{VERTEX}:generateContent", GEMINI_REQUEST, [THINKING], streaming=False))
    assert (thinking.reasoning, thinking.text) == ("The user greets me.", "Hello!")
    assert thinking.usage is not None
    assert thinking.usage["thoughtsTokenCount"] == 40
    blocked = reply(recording(f"{GEMINI}:generateContent", GEMINI_REQUEST, [BLOCKED], streaming=False))
    assert blocked.finish == "blocked: SAFETY"
    assert blocked.text == ""


def test_a_gemini_request_reads_as_its_system_instruction_and_turns() -> None:
    request = recording(f"{GEMINI}:generateContent", GEMINI_REQUEST, [GENERATED], streaming=False)["request"]
    assert messages(request) == [
        ("system", "Answer in one sentence."),
        ("user", "What is the weather in Paris?"),
        ("model", '-> get_weather({"city": "Paris"})'),
        ("user", '[get_weather] {"celsius": 21}'),
    ]
    assert tools(request) == ["get_weather", "googleSearch"]


def test_snake_case_field_names_read_as_the_api_reads_them() -> None:
    body = {
        "system_instruction": {"parts": [{"text": "Be terse."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Hi"}, {"inline_data": {"mime_type": "image/png"}}]}
        ],
        "tools": [{"function_declarations": [{"name": "lookup"}]}],
    }
    request = recording(f"{GEMINI}:generateContent", body, [GENERATED], streaming=False)["request"]
    assert messages(request) == [("system", "Be terse."), ("user", "Hi\n<inline_data>")]
    assert tools(request) == ["lookup"]


def test_the_gemini_model_comes_from_the_url_path_else_from_the_answer() -> None:
    assert model(recording(f"{VERTEX}:streamGenerateContent", GEMINI_REQUEST, STREAMED)) == "gemini-2.0-flash"
    tuned = recording("/v1beta/tunedModels/abc:generateContent", GEMINI_REQUEST, [GENERATED], streaming=False)
    assert model(tuned) == "abc"
    unnamed = recording("/proxy/generate", GEMINI_REQUEST, [GENERATED], streaming=False)
    assert model(unnamed) == "gemini-2.0-flash-001"


@pytest.mark.parametrize(
    ("endpoint", "payload", "summary"),
    [
        (f"{GEMINI}:batchEmbedContents", EMBEDDED_BATCH, "2 embedding(s) of dimension 3"),
        (f"{VERTEX}:embedContent", EMBEDDED_ONE, "1 embedding(s) of dimension 3"),
        (f"{GEMINI}:countTokens", COUNTED, "31 tokens counted"),
        ("/v2/embed", COHERE_EMBED, "2 embedding(s) of dimension 4 (float, int8)"),
        ("/v2/rerank", COHERE_RERANK, "2 result(s): #2 1.000, #0 0.034"),
        ("/v1/rerank", COHERE_RERANK, "2 result(s): #2 1.000, #0 0.034"),
    ],
)
def test_embeddings_counts_and_rankings_are_summed_up(endpoint: str, payload: Any, summary: str) -> None:
    assert reply(recording(endpoint, {}, [payload], streaming=False)).text == summary


@pytest.mark.parametrize(
    ("endpoint", "payload", "status", "error"),
    [
        (
            f"{GEMINI}:generateContent",
            GOOGLE_ERROR,
            400,
            "HTTP 400: API key not valid. Please pass a valid API key.",
        ),
        (f"{GEMINI}:streamGenerateContent", [GOOGLE_ERROR], 400, "HTTP 400: API key not valid."),
        ("/v2/chat", COHERE_ERROR, 401, "HTTP 401: invalid api token"),
    ],
)
def test_errors_read_as_their_status_and_message(
    endpoint: str, payload: Any, status: int, error: str
) -> None:
    answer = reply(recording(endpoint, {}, [payload], streaming=False, status=status))
    assert answer.error is not None
    assert answer.error.startswith(error)


def test_a_whole_cohere_answer_gives_its_plan_tool_calls_finish_and_usage() -> None:
    answer = reply(recording("/v2/chat", {"model": "command-a-03-2025"}, [COHERE_CHAT], streaming=False))
    assert answer.reasoning == "I will look up the weather in Paris."
    assert [(c.id, c.name, c.arguments) for c in answer.tool_calls] == [
        ("get_weather_1byjy32y4hvq", "get_weather", '{"city":"Paris"}')
    ]
    assert answer.finish == "TOOL_CALL"
    assert answer.usage == COHERE_CHAT["usage"]
    text = reply(recording("/v2/chat", {}, [COHERE_TEXT], streaming=False))
    assert (text.text, text.finish) == ("Hello! How can I help?", "COMPLETE")


def test_a_cohere_stream_is_put_together_from_its_events() -> None:
    answer = reply(recording("/v2/chat", {"model": "command-a-03-2025"}, COHERE_EVENTS))
    assert answer.text == "Checking now."
    assert answer.reasoning == "I will check the weather."
    assert [(c.id, c.name, json.loads(c.arguments)) for c in answer.tool_calls] == [
        ("get_weather_nsz5zm3w56q3", "get_weather", {"city": "Paris"})
    ]
    assert answer.finish == "TOOL_CALL"
    assert answer.usage is not None
    assert answer.usage["billed_units"] == {"input_tokens": 20, "output_tokens": 9}


def test_a_cohere_request_reads_as_its_messages() -> None:
    body = {
        "model": "command-a-03-2025",
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
            {
                "role": "assistant",
                "tool_plan": "I will look it up.",
                "tool_calls": [
                    {
                        "id": "w1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {
                "role": "tool",
                "tool_call_id": "w1",
                "content": [{"type": "document", "document": {"data": '{"celsius": 21}'}}],
            },
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}],
    }
    made = recording("/v2/chat", body, [COHERE_TEXT], streaming=False)
    assert messages(made["request"]) == [
        ("system", "You are helpful."),
        ("user", "Weather in Paris?"),
        ("assistant", '(plan) I will look it up.\n-> get_weather({"city":"Paris"}) [w1]'),
        ("tool", '[w1] {"celsius": 21}'),
    ]
    assert tools(made["request"]) == ["get_weather"]
    assert model(made) == "command-a-03-2025"


def test_cohere_message_start_as_the_live_api_sends_it_is_no_drift() -> None:
    # The API's message-start carries the message's content and tool plan; the SDK's class names its role.
    event = {
        "type": "message-start",
        "id": "c1",
        "delta": {
            "message": {
                "role": "assistant",
                "content": [],
                "tool_plan": "",
                "tool_calls": [],
                "citations": [],
            }
        },
    }
    assert drift(typemap.COHERE_EVENTS["message-start"], event) == []
    delta = {"type": "content-delta", "index": 0, "unexpected": 1}
    assert drift(typemap.COHERE_EVENTS["content-delta"], delta) != []
