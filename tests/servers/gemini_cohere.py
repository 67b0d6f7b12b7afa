"""Gemini (Google AI and Vertex AI) and Cohere in their documented wire formats, served by the loopback
server of ``tests/servers/openai_server.py``.

Routes, all POST; ``handles(path)`` tells which, ``answer`` serves them:

- Gemini, under an API version (``/v1``, ``/v1beta``, ``/v1beta1``), optionally behind a Vertex prefix
  (``projects/{p}/locations/{l}/publishers/google/`` or ``publishers/google/``):
  ``models/{model}:generateContent``; ``:streamGenerateContent?alt=sse`` (SSE ``data:`` events with CRLF
  line ends, no ``[DONE]``); ``:streamGenerateContent`` without ``alt`` (a chunked ``application/json``
  array, sent element by element after ``[``, ``,\\r\\n`` and ``]``); ``:countTokens``; ``:embedContent``;
  ``:batchEmbedContents``. The key goes in ``x-goog-api-key`` or ``?key=``; Vertex takes a Bearer token.
  Camel-case JSON (``candidates``, ``finishReason``, ``usageMetadata``, ``modelVersion``, ``responseId``);
  with ``tools: [{functionDeclarations: [...]}]`` and a user turn last the answer is a ``functionCall``
  part, after a ``functionResponse`` part it is text.
- Cohere: ``/v2/chat`` (JSON, or with ``stream: true`` SSE events ``message-start``, ``content-*``,
  ``tool-plan-delta``, ``tool-call-*``, ``message-end``, then no ``[DONE]``), ``/v2/embed``, ``/v2/rerank``,
  ``/v1/rerank``; the key goes in ``Authorization: Bearer``.

Replies are deterministic functions of the request; ids and timestamps are fresh on every call. Errors
come in each provider's shape (Google ``{"error": {"code", "message", "status"}}``, Cohere ``{"id",
"message"}``): a missing key (Google 403, Vertex 401, Cohere 401), a Gemini request without ``contents``
(400), a Gemini model named ``missing-...`` (404), a Cohere chat without messages (400), and whatever the
request headers ``x-test-status: N`` or ``x-test-fail-first: N`` of the server ask for.

Start the server with ``python -m tests.servers.openai_server`` (it prints ``PORT <n>``) or with
``tests.conftest.start_server()``; both APIs live at ``http://127.0.0.1:<port>`` (no ``/v1`` suffix).
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.servers import wire
from tests.servers.wire import sse, words

GEMINI_ROUTE = re.compile(
    r"/v1\w*/(?:projects/[^/]+/locations/[^/]+/)?(?:publishers/google/)?models/(?P<model>[^/:]+):(?P<method>\w+)"
)
COHERE_ROUTES = ("/v2/chat", "/v2/embed", "/v2/rerank", "/v1/rerank")
GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def handles(path: str) -> bool:
    """True for a route this module answers."""
    route = urlsplit(path).path
    return GEMINI_ROUTE.fullmatch(route) is not None or route in COHERE_ROUTES


def answer(handler: BaseHTTPRequestHandler, body: dict[str, Any], injected: int) -> None:
    """Answer a Gemini or Cohere request; ``injected`` is a status the test asked for, or 0."""
    url = urlsplit(handler.path)
    match = GEMINI_ROUTE.fullmatch(url.path)
    if match:
        return _gemini(handler, match, parse_qs(url.query), body, injected)
    return _cohere(handler, url.path, body, injected)


# Writing answers ------------------------------------------------------------------------------


def _send(handler: BaseHTTPRequestHandler, status: int, content_type: str, data: bytes) -> None:
    handler.send_response(status)
    handler.send_header("content-type", content_type)
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _send_pieces(handler: BaseHTTPRequestHandler, content_type: str, pieces: list[bytes]) -> None:
    """A 200 answer in chunked transfer encoding, one chunk per piece, flushed as it goes."""
    handler.send_response(200)
    handler.send_header("content-type", content_type)
    handler.send_header("transfer-encoding", "chunked")
    handler.end_headers()
    pause = getattr(handler, "pause", None)  # the x-test-delay-ms hook of openai_server's handler
    for piece in [*pieces, b""]:
        if piece and pause is not None:
            pause()
        handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        handler.wfile.flush()


# Gemini -----------------------------------------------------------------------------------------


def google_error(code: int, message: str) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": GOOGLE_STATUS.get(code, "UNKNOWN")}
    if code == 429:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0s"}]
    return {"error": error}


def _gemini(
    handler: BaseHTTPRequestHandler,
    match: re.Match[str],
    query: dict[str, list[str]],
    body: dict[str, Any],
    injected: int,
) -> None:
    model, method = match["model"], match["method"]
    vertex = "/publishers/" in match[0]
    problem = _gemini_problem(handler, query, model, method, body, vertex) or (
        (injected, f"injected status {injected}") if injected else None
    )
    if problem:
        data = json.dumps(google_error(*problem), indent=2).encode()
        return _send(handler, problem[0], "application/json; charset=UTF-8", data)
    if method == "streamGenerateContent":
        chunks = gemini_chunks(body, model, vertex)
        if query.get("alt") == ["sse"]:
            events = [b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n" for chunk in chunks]
            return _send_pieces(handler, "text/event-stream", events)
        return _send_pieces(handler, "application/json; charset=UTF-8", json_array_pieces(chunks))
    payload = GEMINI_METHODS[method](body, model, vertex)
    _send(handler, 200, "application/json; charset=UTF-8", json.dumps(payload, indent=2).encode())


def _gemini_problem(
    handler: BaseHTTPRequestHandler,
    query: dict[str, list[str]],
    model: str,
    method: str,
    body: dict[str, Any],
    vertex: bool,
) -> tuple[int, str] | None:
    key = handler.headers.get("x-goog-api-key") or query.get("key")
    bearer = handler.headers.get("authorization", "").startswith("Bearer ")
    if not (key or bearer):
        if vertex:
            return 401, "Request had invalid authentication credentials. Expected OAuth 2 access token."
        return 403, "Method doesn't allow unregistered callers. Please use API Key."
    if model.startswith("missing-") or method not in (*GEMINI_METHODS, "streamGenerateContent"):
        return 404, f"models/{model} is not found for API version v1beta, or is not supported for {method}."
    if method in ("generateContent", "streamGenerateContent") and not body.get("contents"):
        return 400, "* GenerateContentRequest.contents: contents is not specified\n"
    return None


def json_array_pieces(chunks: list[dict[str, Any]]) -> list[bytes]:
    """A stream as Google sends it without ``alt=sse``: ``[``, elements joined by ``,\\r\\n``, ``]``."""
    elements = [json.dumps(chunk, indent=2).encode() for chunk in chunks]
    return [b"[" + elements[0], *(b",\r\n" + element for element in elements[1:]), b"]"]


def _part_texts(content: dict[str, Any]) -> list[str]:
    return [part["text"] for part in content.get("parts", []) if isinstance(part.get("text"), str)]


def _prompt_tokens(body: dict[str, Any]) -> int:
    contents = [*body.get("contents", []), body.get("systemInstruction") or {}]
    return sum(len(text.split()) for content in contents for text in _part_texts(content))


def gemini_reply(body: dict[str, Any]) -> dict[str, Any]:
    """The one part the model answers with: a ``functionCall`` when a tool is wanted, else text."""
    contents = body.get("contents", [])
    last = contents[-1] if contents else {}
    # The REST API reads proto JSON, which takes snake_case field names as well as camelCase (litellm's).
    parts = last.get("parts", [])
    responses = [part.get("functionResponse") or part["function_response"] for part in parts if _answer(part)]
    if responses:
        result = json.dumps(responses[0].get("response"), sort_keys=True)
        return {"text": f"The function {responses[0].get('name')} returned {result}."}
    declarations = [
        d
        for tool in body.get("tools", [])
        for d in tool.get("functionDeclarations") or tool.get("function_declarations") or []
    ]
    said = " ".join(_part_texts(last))
    if declarations and last.get("role", "user") == "user":
        declaration = declarations[0]
        schema = (
            declaration.get("parameters")
            or declaration.get("parametersJsonSchema")
            or declaration.get("parameters_json_schema")
            or {}
        )
        args = wire.argued({name: said for name in list(schema.get("properties", {}))[:1]})
        return {"functionCall": {"name": declaration["name"], "args": args}}
    return {"text": wire.worded(f"You said: {said}. This conversation has {len(contents)} turns.")}


def _answer(part: dict[str, Any]) -> bool:
    return "functionResponse" in part or "function_response" in part


def _usage(body: dict[str, Any], reply: int | None, vertex: bool) -> dict[str, Any]:
    prompt = _prompt_tokens(body)
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        "totalTokenCount": prompt + (reply or 0),
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    }
    if reply is not None:
        usage["candidatesTokenCount"] = reply
    if vertex:
        usage["trafficType"] = "ON_DEMAND"
    return usage


def _gemini_object(
    parts: list[dict[str, Any]], usage: dict[str, Any], model: str, finished: bool, ids: dict[str, str]
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
    if finished:
        candidate["finishReason"] = "STOP"
    if "createTime" not in ids:
        candidate["index"] = 0  # the Gemini API numbers its candidates; Vertex leaves the index out
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model, **ids}


def _ids(vertex: bool) -> dict[str, str]:
    ids = {"responseId": secrets.token_urlsafe(17)}
    if vertex:
        ids["createTime"] = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    return ids


def _reply_tokens(part: dict[str, Any]) -> int:
    return len(part["text"].split()) if "text" in part else 5


def gemini_response(body: dict[str, Any], model: str, vertex: bool) -> dict[str, Any]:
    """A whole ``GenerateContentResponse``."""
    part = gemini_reply(body)
    return _gemini_object([part], _usage(body, _reply_tokens(part), vertex), model, True, _ids(vertex))


def gemini_chunks(body: dict[str, Any], model: str, vertex: bool) -> list[dict[str, Any]]:
    """The chunks of a streamed answer: a word of text each (or the one function call), then the finish."""
    part, ids = gemini_reply(body), _ids(vertex)
    pieces = [{"text": piece} for piece in words(part["text"])] if "text" in part else [part]
    running = _usage(body, None, vertex)
    chunks = [_gemini_object([piece], running, model, False, ids) for piece in pieces]
    chunks[-1] = _gemini_object(pieces[-1:], _usage(body, _reply_tokens(part), vertex), model, True, ids)
    return chunks


def count_tokens(body: dict[str, Any], model: str, vertex: bool) -> dict[str, Any]:
    total = _prompt_tokens(body)
    counted: dict[str, Any] = {"totalTokens": total}
    if vertex:
        counted["totalBillableCharacters"] = sum(
            len(text) for content in body.get("contents", []) for text in _part_texts(content)
        )
    counted["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": total}]
    return counted


def vector(text: str, size: int | None = None) -> list[float]:
    """A deterministic embedding of ``text`` (4 numbers unless a size is asked for)."""
    base = [round(len(text) / 10, 4), 0.5, -0.25, round(len(text.split()) / 10, 4)]
    return [base[i % 4] for i in range(size or 4)]


def _typed_vector(values: list[float], kind: str) -> list[float] | list[int]:
    """An embedding in the number type Cohere sends for ``kind``: integers for the quantized ones."""
    if kind in ("int8", "binary"):
        return [round(value * 127) for value in values]
    if kind in ("uint8", "ubinary"):
        return [round((value + 1) * 127) for value in values]
    return values


def _embedding(request: dict[str, Any]) -> dict[str, Any]:
    text = " ".join(_part_texts(request.get("content", {})))
    return {"values": vector(text, request.get("outputDimensionality"))}


def embed_one(body: dict[str, Any], model: str, vertex: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"embedding": _embedding(body)}
    if vertex:
        tokens = len(" ".join(_part_texts(body.get("content", {}))).split())
        result |= {
            "usageMetadata": {"promptTokenCount": tokens, "totalTokenCount": tokens},
            "truncated": False,
        }
    return result


def embed_batch(body: dict[str, Any], model: str, vertex: bool) -> dict[str, Any]:
    return {"embeddings": [_embedding(request) for request in body.get("requests", [])]}


GEMINI_METHODS = {
    "generateContent": gemini_response,
    "countTokens": count_tokens,
    "embedContent": embed_one,
    "batchEmbedContents": embed_batch,
}


# Cohere -----------------------------------------------------------------------------------------


def cohere_error(message: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "message": message}


def _cohere(handler: BaseHTTPRequestHandler, route: str, body: dict[str, Any], injected: int) -> None:
    problem = _cohere_problem(handler, route, body) or (
        (injected, f"injected status {injected}") if injected else None
    )
    if problem:
        return _send(handler, problem[0], "application/json", json.dumps(cohere_error(problem[1])).encode())
    if route == "/v2/chat" and body.get("stream"):
        return _send_pieces(handler, "text/event-stream", cohere_chat_events(body))
    builders = {"/v2/chat": cohere_chat, "/v2/embed": cohere_embed, "/v2/rerank": cohere_rerank}
    payload = builders.get(route, cohere_rerank_v1)(body)
    _send(handler, 200, "application/json", json.dumps(payload).encode())


def _cohere_problem(
    handler: BaseHTTPRequestHandler, route: str, body: dict[str, Any]
) -> tuple[int, str] | None:
    if not handler.headers.get("authorization", "").startswith("Bearer "):
        return 401, "no api key supplied"
    if route == "/v2/chat" and not body.get("messages"):
        return 400, "invalid request: messages must contain at least one message."
    return None


def _cohere_text(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, str):
        return content
    texts = [item.get("text") or json.dumps(item.get("document", {}).get("data")) for item in content]
    return " ".join(texts)


def cohere_reply(body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """The answer's text, or its tool call (``id``, ``name``, ``arguments``) when a tool is wanted."""
    messages = body.get("messages", [])
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return f"The tool said: {_cohere_text(last)}", None
    if body.get("tools") and last.get("role") == "user":
        function = body["tools"][0]["function"]
        names = list(function.get("parameters", {}).get("properties", {}))[:1]
        arguments = json.dumps({name: _cohere_text(last) for name in names})
        call = {"id": f"{function['name']}_{uuid.uuid4().hex[:12]}", "name": function["name"]}
        return f"I will use the {function['name']} tool to answer.", {**call, "arguments": arguments}
    users = [m for m in messages if m.get("role") == "user"]
    said = _cohere_text(users[-1]) if users else ""
    return f"You said: {said}. This conversation has {len(messages)} messages.", None


def _cohere_usage(body: dict[str, Any], output: int) -> dict[str, Any]:
    prompt = sum(len(_cohere_text(m).split()) for m in body.get("messages", []))
    return {
        "billed_units": {"input_tokens": prompt, "output_tokens": output},
        "tokens": {"input_tokens": prompt + 60, "output_tokens": output},
    }


def cohere_chat(body: dict[str, Any]) -> dict[str, Any]:
    """A whole v2 chat response."""
    text, call = cohere_reply(body)
    message: dict[str, Any] = {"role": "assistant"}
    if call:
        function = {"name": call["name"], "arguments": call["arguments"]}
        message |= {
            "tool_plan": text,
            "tool_calls": [{"id": call["id"], "type": "function", "function": function}],
        }
    else:
        message["content"] = [{"type": "text", "text": text}]
    return {
        "id": str(uuid.uuid4()),
        "message": message,
        "finish_reason": "TOOL_CALL" if call else "COMPLETE",
        "usage": _cohere_usage(body, len(text.split())),
    }


def _cohere_event(data: dict[str, Any]) -> bytes:
    return sse(data["type"], data)


def cohere_chat_events(body: dict[str, Any]) -> list[bytes]:
    """A v2 chat stream: message-start, the content or the tool plan and call, message-end."""
    text, call = cohere_reply(body)
    opening = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
    events = [{"id": str(uuid.uuid4()), "type": "message-start", "delta": {"message": opening}}]
    events += _tool_call_events(text, call) if call else _content_events(text)
    finish = "TOOL_CALL" if call else "COMPLETE"
    ending = {"finish_reason": finish, "usage": _cohere_usage(body, len(text.split()))}
    events.append({"type": "message-end", "delta": ending})
    return [_cohere_event(event) for event in events]


def _content_events(text: str) -> list[dict[str, Any]]:
    start = {"message": {"content": {"type": "text", "text": ""}}}
    events: list[dict[str, Any]] = [{"type": "content-start", "index": 0, "delta": start}]
    for piece in words(text):
        delta = {"message": {"content": {"text": piece}}}
        events.append({"type": "content-delta", "index": 0, "delta": delta})
    return [*events, {"type": "content-end", "index": 0}]


def _tool_call_events(plan: str, call: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": piece}}} for piece in words(plan)
    ]
    opened = {"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": ""}}
    events.append({"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": opened}}})
    arguments = call["arguments"]
    for at in range(0, len(arguments), 6):
        piece = {"function": {"arguments": arguments[at : at + 6]}}
        events.append({"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": piece}}})
    return [*events, {"type": "tool-call-end", "index": 0}]


def _meta(**billed: int) -> dict[str, Any]:
    return {"api_version": {"version": "2"}, "billed_units": billed}


def cohere_embed(body: dict[str, Any]) -> dict[str, Any]:
    texts = body.get("texts", [])
    embeddings = {
        kind: [_typed_vector(vector(text), kind) for text in texts]
        for kind in body.get("embedding_types") or ["float"]
    }
    return {
        "id": str(uuid.uuid4()),
        "texts": texts,
        "embeddings": embeddings,
        "meta": _meta(input_tokens=sum(len(text.split()) for text in texts)),
        "response_type": "embeddings_by_type",
    }


def _document_text(document: Any) -> str:
    return document if isinstance(document, str) else str(document.get("text", ""))


def _ranked(body: dict[str, Any]) -> list[tuple[int, float]]:
    """Documents by how many of the query's words they share, best first."""
    query = set(body.get("query", "").lower().split())
    scores = []
    for index, document in enumerate(body.get("documents", [])):
        shared = query & set(_document_text(document).lower().split())
        scores.append((index, round(len(shared) / max(1, len(query)), 4)))
    ranked = sorted(scores, key=lambda item: (-item[1], item[0]))
    return ranked[: body.get("top_n") or len(ranked)]


def cohere_rerank(body: dict[str, Any]) -> dict[str, Any]:
    results = [{"index": index, "relevance_score": score} for index, score in _ranked(body)]
    return {"id": str(uuid.uuid4()), "results": results, "meta": _meta(search_units=1)}


def cohere_rerank_v1(body: dict[str, Any]) -> dict[str, Any]:
    ranked = cohere_rerank(body)
    if body.get("return_documents"):
        for result in ranked["results"]:
            result["document"] = {"text": _document_text(body["documents"][result["index"]])}
    return ranked
