"""Which SDK class a stored payload parses as: an explicit map, never an import of a string from a file.

``type_name`` picks the ``__type__`` of a payload from its endpoint and its own discriminator
(``object`` for OpenAI chat/completions/embeddings, ``type`` for Anthropic, the Responses API and
Cohere's stream events, the endpoint for Ollama, Gemini/Vertex and Cohere). An endpoint's class
is given only to a payload holding one of the fields every answer of it holds, so an error body
(``{"error": ...}``, ``{"message": ...}``) stays ``json``. ``sdk_class`` imports only names
listed in ``SDK_CLASSES``.
"""

from __future__ import annotations

import importlib
from typing import Any

JSON_TYPE = "json"
TEXT_TYPE = "text"
BYTES_TYPE = "bytes"  # a payload that is not UTF-8: its bytes, read as latin-1 (one character per byte)
FILE_TYPE = "file"  # a body stored beside the recording: its __data__ is the sidecar's name (sidecar.py)
MULTIPART_TYPE = "multipart"  # a multipart/form-data request body: its parts (multipart.py)

_OPENAI = "openai.types"
OPENAI_OBJECTS = {
    "chat.completion": f"{_OPENAI}.chat.chat_completion.ChatCompletion",
    "chat.completion.chunk": f"{_OPENAI}.chat.chat_completion_chunk.ChatCompletionChunk",
    "text_completion": f"{_OPENAI}.completion.Completion",
    "model": f"{_OPENAI}.model.Model",
    "response": f"{_OPENAI}.responses.response.Response",
}
_EVENTS = f"{_OPENAI}.responses"
RESPONSES_EVENTS = {
    "response.created": f"{_EVENTS}.response_created_event.ResponseCreatedEvent",
    "response.in_progress": f"{_EVENTS}.response_in_progress_event.ResponseInProgressEvent",
    "response.completed": f"{_EVENTS}.response_completed_event.ResponseCompletedEvent",
    "response.failed": f"{_EVENTS}.response_failed_event.ResponseFailedEvent",
    "response.incomplete": f"{_EVENTS}.response_incomplete_event.ResponseIncompleteEvent",
    "response.output_item.added": f"{_EVENTS}.response_output_item_added_event.ResponseOutputItemAddedEvent",
    "response.output_item.done": f"{_EVENTS}.response_output_item_done_event.ResponseOutputItemDoneEvent",
    "response.content_part.added": (
        f"{_EVENTS}.response_content_part_added_event.ResponseContentPartAddedEvent"
    ),
    "response.content_part.done": f"{_EVENTS}.response_content_part_done_event.ResponseContentPartDoneEvent",
    "response.output_text.delta": f"{_EVENTS}.response_text_delta_event.ResponseTextDeltaEvent",
    "response.output_text.done": f"{_EVENTS}.response_text_done_event.ResponseTextDoneEvent",
    "response.function_call_arguments.delta": (
        f"{_EVENTS}.response_function_call_arguments_delta_event.ResponseFunctionCallArgumentsDeltaEvent"
    ),
    "response.function_call_arguments.done": (
        f"{_EVENTS}.response_function_call_arguments_done_event.ResponseFunctionCallArgumentsDoneEvent"
    ),
    "error": f"{_EVENTS}.response_error_event.ResponseErrorEvent",
}
ANTHROPIC_TYPES = {
    "message": "anthropic.types.message.Message",
    "message_start": "anthropic.types.raw_message_start_event.RawMessageStartEvent",
    "message_delta": "anthropic.types.raw_message_delta_event.RawMessageDeltaEvent",
    "message_stop": "anthropic.types.raw_message_stop_event.RawMessageStopEvent",
    "content_block_start": "anthropic.types.raw_content_block_start_event.RawContentBlockStartEvent",
    "content_block_delta": "anthropic.types.raw_content_block_delta_event.RawContentBlockDeltaEvent",
    "content_block_stop": "anthropic.types.raw_content_block_stop_event.RawContentBlockStopEvent",
}
OLLAMA_ENDPOINTS = {
    "/api/chat": "ollama.ChatResponse",
    "/api/generate": "ollama.GenerateResponse",
    "/api/embed": "ollama.EmbedResponse",
}
EMBEDDINGS = f"{_OPENAI}.create_embedding_response.CreateEmbeddingResponse"

# google-genai parses the REST JSON (camelCase) of these methods into these classes; every chunk of a
# stream, SSE or JSON array, is one GenerateContentResponse.
_GENAI = "google.genai.types"
GENERATE_CONTENT = f"{_GENAI}.GenerateContentResponse"
_GENERATED = ("candidates", "promptFeedback", "usageMetadata", "modelVersion", "responseId")
GEMINI_METHODS = {
    ":generateContent": (GENERATE_CONTENT, _GENERATED),
    ":streamGenerateContent": (GENERATE_CONTENT, _GENERATED),
    ":batchEmbedContents": (f"{_GENAI}.EmbedContentResponse", ("embeddings",)),
}
# No class parses these answers as sent, so they stay "json": the SDK copies only totalTokens and
# cachedContentTokenCount of :countTokens into CountTokensResponse, which forbids the promptTokensDetails a
# live answer holds; it reshapes :embedContent's {"embedding": ...} into EmbedContentResponse.embeddings.
GEMINI_UNTYPED = (":countTokens", ":embedContent")

# cohere.ClientV2.chat parses /v2/chat into V2ChatResponse, chat_stream each event by its type into a
# member of the V2ChatStreamResponse union; embed, rerank and the v1 Client.rerank as named here.
_COHERE_STREAM = "cohere.v2.types.v2chat_stream_response"
COHERE_EVENTS = {
    "message-start": f"{_COHERE_STREAM}.MessageStartV2ChatStreamResponse",
    "content-start": f"{_COHERE_STREAM}.ContentStartV2ChatStreamResponse",
    "content-delta": f"{_COHERE_STREAM}.ContentDeltaV2ChatStreamResponse",
    "content-end": f"{_COHERE_STREAM}.ContentEndV2ChatStreamResponse",
    "tool-plan-delta": f"{_COHERE_STREAM}.ToolPlanDeltaV2ChatStreamResponse",
    "tool-call-start": f"{_COHERE_STREAM}.ToolCallStartV2ChatStreamResponse",
    "tool-call-delta": f"{_COHERE_STREAM}.ToolCallDeltaV2ChatStreamResponse",
    "tool-call-end": f"{_COHERE_STREAM}.ToolCallEndV2ChatStreamResponse",
    "citation-start": f"{_COHERE_STREAM}.CitationStartV2ChatStreamResponse",
    "citation-end": f"{_COHERE_STREAM}.CitationEndV2ChatStreamResponse",
    "message-end": f"{_COHERE_STREAM}.MessageEndV2ChatStreamResponse",
    "debug": f"{_COHERE_STREAM}.DebugV2ChatStreamResponse",
}
# Classes an SDK declares only in part: the live API sends more than they name (Cohere's message-start
# carries the message's content, tool plan and calls; the SDK's class names only its role), so fields
# they do not name are no sign of drift.
PARTIAL_CLASSES = frozenset({COHERE_EVENTS["message-start"]})

COHERE_ENDPOINTS = {
    "/v2/chat": ("cohere.v2.types.v2chat_response.V2ChatResponse", ("finish_reason",)),
    "/v2/embed": ("cohere.types.embed_by_type_response.EmbedByTypeResponse", ("embeddings",)),
    "/v2/rerank": ("cohere.v2.types.v2rerank_response.V2RerankResponse", ("results",)),
    "/v1/rerank": ("cohere.types.rerank_response.RerankResponse", ("results",)),
}
# Endpoint suffix: (class, the fields of which every answer holds one).
BY_ENDPOINT = {**GEMINI_METHODS, **COHERE_ENDPOINTS}

SDK_CLASSES = frozenset(
    [
        *OPENAI_OBJECTS.values(),
        *RESPONSES_EVENTS.values(),
        *ANTHROPIC_TYPES.values(),
        *OLLAMA_ENDPOINTS.values(),
        EMBEDDINGS,
        *(name for name, _ in BY_ENDPOINT.values()),
        *COHERE_EVENTS.values(),
    ]
)


KNOWN_TYPES = SDK_CLASSES | {JSON_TYPE, TEXT_TYPE, BYTES_TYPE, FILE_TYPE}


def type_name(data: Any, endpoint: str = "") -> str:
    """The ``__type__`` of a decoded JSON payload received from ``endpoint``."""
    if not isinstance(data, dict):
        return JSON_TYPE
    for suffix, name in OLLAMA_ENDPOINTS.items():
        if endpoint.endswith(suffix):
            return name
    kind = data.get("type")
    if endpoint.endswith("/v2/chat") and kind in COHERE_EVENTS:
        return COHERE_EVENTS[kind]
    for suffix, (name, fields) in BY_ENDPOINT.items():
        if endpoint.endswith(suffix):
            return name if any(field in data for field in fields) else JSON_TYPE
    if endpoint.endswith(GEMINI_UNTYPED):
        return JSON_TYPE
    if endpoint.endswith("/messages") and kind in ANTHROPIC_TYPES:
        return ANTHROPIC_TYPES[kind]
    if endpoint.endswith("/responses") and kind in RESPONSES_EVENTS:
        return RESPONSES_EVENTS[kind]
    return _openai_object(data)


def _openai_object(data: dict[str, Any]) -> str:
    kind = data.get("object")
    if isinstance(kind, str) and kind in OPENAI_OBJECTS:
        return OPENAI_OBJECTS[kind]
    items = data.get("data")
    first = items[0] if isinstance(items, list) and items else None
    if kind == "list" and isinstance(first, dict) and first.get("object") == "embedding":
        return EMBEDDINGS
    return JSON_TYPE


def sdk_class(name: str) -> type[Any] | None:
    """The SDK class named by a ``__type__``, if the map lists it and its SDK is installed."""
    if name not in SDK_CLASSES:
        return None
    module, _, attribute = name.rpartition(".")
    try:
        found: type[Any] = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError):
        return None
    return found
