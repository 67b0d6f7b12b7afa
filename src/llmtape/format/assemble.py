"""A recording as a person reads it: the request's messages and the reply put together from its chunks.

Handles the OpenAI chat, completions, embeddings, models and Responses formats, Anthropic Messages,
Ollama's native API, Gemini/Vertex (``gemini``) and Cohere (``cohere``), streamed or not.
"""

from __future__ import annotations

import json
from typing import Any

from llmtape.format import bedrock, cohere, gemini
from llmtape.format.recording import Recording, StoredRequest, StoredResponse
from llmtape.format.reply import Reply, ToolCall
from llmtape.format.typemap import FILE_TYPE, MULTIPART_TYPE

__all__ = ["Reply", "ToolCall", "messages", "model", "payloads", "reply", "tools"]


def payloads(response: StoredResponse) -> list[Any]:
    """The ``__data__`` of each chunk of a streamed response, or of its one body."""
    body = response.get("body")
    items = body if response.get("is_streaming") else [body]
    return [item.get("__data__") for item in items or [] if isinstance(item, dict)]


def model(recording: Recording) -> str | None:
    """The model asked for: the request's ``model``, else the one in a Gemini URL path, else the
    ``modelVersion`` the answer names."""
    request = recording["request"]
    if request.get("model"):
        return str(request["model"])
    versions = (d.get("modelVersion") for d in payloads(recording["response"]) if isinstance(d, dict))
    endpoint = request.get("endpoint", "")
    found = gemini.model(endpoint) or bedrock.model(endpoint)
    return found or next((v for v in versions if v), None)


def reply(recording: Recording) -> Reply:
    """The reply of a recording, whatever its wire format."""
    response = recording["response"]
    # A JSON array (Gemini's error to a stream request) is read as its elements.
    data = [d for p in payloads(response) for d in (p if isinstance(p, list) else [p]) if isinstance(d, dict)]
    if int(response.get("status", 200)) >= 400:
        detail = data[0].get("error", data[0]) if data else {}
        message = detail.get("message") if isinstance(detail, dict) else detail
        return Reply(error=f"HTTP {response.get('status')}: {message or json.dumps(detail)}")
    body = response.get("body")
    if not response.get("is_streaming") and isinstance(body, dict) and body.get("__type__") == FILE_TYPE:
        return Reply(text=f"(a file of its own: {body.get('__data__')})")
    endpoint = recording["request"].get("endpoint", "")
    for suffix, build in BUILDERS:
        if endpoint.endswith(suffix):
            return build(data)
    return Reply(text=json.dumps(data[0])[:200] if data else "")


def _chat(data: list[dict[str, Any]]) -> Reply:
    result, calls = Reply(), dict[int, ToolCall]()
    for item in data:
        for choice in item.get("choices") or []:
            part = choice.get("delta") or choice.get("message") or {}
            result.text += part.get("content") or choice.get("text") or ""
            result.reasoning += part.get("reasoning_content") or part.get("reasoning") or ""
            for index, call in enumerate(part.get("tool_calls") or []):
                merged = calls.setdefault(call.get("index", index), ToolCall("", "", ""))
                function = call.get("function") or {}
                merged.id = merged.id or call.get("id") or ""
                merged.name = merged.name or function.get("name") or ""
                merged.arguments += function.get("arguments") or ""
            result.finish = choice.get("finish_reason") or result.finish
        result.usage = item.get("usage") or result.usage
    result.tool_calls = [calls[i] for i in sorted(calls)]
    return result


def _responses(data: list[dict[str, Any]]) -> Reply:
    final = next(
        (d["response"] for d in data if d.get("type") in ("response.completed", "response.incomplete")), None
    )
    if final is None and data and data[0].get("object") == "response":
        final = data[0]
    if final is None:  # a stream cut short: what the deltas said
        return Reply(
            text="".join(d.get("delta", "") for d in data if d.get("type") == "response.output_text.delta")
        )
    result = Reply(finish=final.get("status"), usage=final.get("usage"))
    for item in final.get("output") or []:
        if item.get("type") == "message":
            result.text += "".join(c.get("text", "") for c in item.get("content") or [])
        elif item.get("type") == "function_call":
            result.tool_calls.append(
                ToolCall(item.get("call_id", ""), item.get("name", ""), item.get("arguments", ""))
            )
        elif item.get("type") == "reasoning":
            result.reasoning += "".join(s.get("text", "") for s in item.get("summary") or [])
    return result


def _anthropic(data: list[dict[str, Any]]) -> Reply:
    result, blocks = Reply(), dict[int, dict[str, Any]]()
    for item in data:
        kind = item.get("type")
        if kind == "message":
            blocks.update(enumerate(item.get("content") or []))
            result.finish, result.usage = item.get("stop_reason"), item.get("usage")
        elif kind == "message_start":
            result.usage = item["message"].get("usage")
        elif kind == "content_block_start":
            blocks[item["index"]] = {**item["content_block"], "partial": ""}
        elif kind == "content_block_delta":
            block, delta = blocks.setdefault(item["index"], {"type": "text", "text": ""}), item["delta"]
            block["text"] = block.get("text", "") + delta.get("text", "")
            block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
            block["partial"] = block.get("partial", "") + delta.get("partial_json", "")
        elif kind == "message_delta":
            result.finish = item["delta"].get("stop_reason") or result.finish
            result.usage = {**(result.usage or {}), **(item.get("usage") or {})}
    for _, block in sorted(blocks.items()):
        result.text += block.get("text", "") if block.get("type") == "text" else ""
        result.reasoning += block.get("thinking", "") if block.get("type") == "thinking" else ""
        if block.get("type") == "tool_use":
            arguments = block.get("partial") or json.dumps(block.get("input") or {})
            result.tool_calls.append(ToolCall(block.get("id", ""), block.get("name", ""), arguments))
    return result


def _ollama(data: list[dict[str, Any]]) -> Reply:
    result = Reply()
    for item in data:
        message = item.get("message") or {}
        result.text += message.get("content") or item.get("response") or ""
        result.reasoning += message.get("thinking") or item.get("thinking") or ""
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            result.tool_calls.append(
                ToolCall("", function.get("name", ""), json.dumps(function.get("arguments")))
            )
        if item.get("done"):
            result.finish = item.get("done_reason")
            result.usage = {
                "prompt_eval_count": item.get("prompt_eval_count"),
                "eval_count": item.get("eval_count"),
            }
    return result


def _vectors(data: list[dict[str, Any]]) -> Reply:
    item = data[0] if data else {}
    vectors = [d.get("embedding") for d in item.get("data") or []] or item.get("embeddings") or []
    size = len(vectors[0]) if vectors and isinstance(vectors[0], list) else 0
    return Reply(text=f"{len(vectors)} embedding(s) of dimension {size}", usage=item.get("usage"))


def _models(data: list[dict[str, Any]]) -> Reply:
    models = [m.get("id", "") for m in (data[0].get("data") or [])] if data else []
    return Reply(
        text=f"{len(models)} model(s): {', '.join(models[:8])}" + (" ..." if len(models) > 8 else "")
    )


BUILDERS = [
    ("/chat/completions", _chat),
    ("/completions", _chat),
    ("/responses", _responses),
    ("/messages", _anthropic),
    ("/api/chat", _ollama),
    ("/api/generate", _ollama),
    ("/api/embed", _vectors),
    ("/embeddings", _vectors),
    ("/models", _models),
    (":generateContent", gemini.reply),
    (":streamGenerateContent", gemini.reply),
    (":embedContent", gemini.vectors),
    (":batchEmbedContents", gemini.vectors),
    (":countTokens", gemini.count),
    ("/v2/chat", cohere.reply),
    ("/v2/embed", cohere.vectors),
    ("/v2/rerank", cohere.rerank),
    ("/v1/rerank", cohere.rerank),
    ("/converse", bedrock.converse),
    ("/converse-stream", bedrock.converse),
    ("/invoke", _anthropic),  # the model's own format: Anthropic's on Bedrock is read
    ("/invoke-with-response-stream", lambda data: _anthropic(bedrock.chunks(data))),
]


def messages(request: StoredRequest) -> list[tuple[str, str]]:
    """The request's conversation as (role, text) pairs, tool calls and results included."""
    body = request.get("body") or {}
    if not isinstance(body, dict):
        return []
    if body.get("__type__") == MULTIPART_TYPE:  # an upload: its fields, and its files by name
        return [(p["name"], p.get("value") or _file(p)) for p in body["__data__"]]
    if body.get("__type__") == FILE_TYPE:
        return [("body", str(body["__data__"]))]
    if "contents" in body:
        return gemini.messages(body)
    pairs: list[tuple[str, str]] = []
    if body.get("system"):
        pairs.append(("system", _text(body["system"])))
    if body.get("instructions"):
        pairs.append(("instructions", _text(body["instructions"])))
    for message in body.get("messages") or _as_list(body.get("input")):
        role = message.get("role") or message.get("type") or "?"
        text = _text(message.get("content") or message.get("output") or message.get("arguments"))
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            text += f"\n-> {function.get('name')}({_text(function.get('arguments'))}) [{call.get('id', '')}]"
        if message.get("tool_plan"):  # Cohere's plan before its tool calls
            text = f"(plan) {message['tool_plan']}\n{text.strip()}"
        if message.get("tool_call_id"):
            text = f"[{message['tool_call_id']}] {text}"
        pairs.append((role, text.strip()))
    if "prompt" in body:
        pairs.append(("prompt", _text(body["prompt"])))
    return pairs


def tools(request: StoredRequest) -> list[str]:
    """The names of the tools the request offered."""
    body = request.get("body") or {}
    if isinstance(body, dict) and "contents" in body:
        return gemini.tools(body)
    offered = body.get("tools") if isinstance(body, dict) else None
    return [t.get("name") or (t.get("function") or {}).get("name", "?") for t in offered or []]


def _file(part: dict[str, Any]) -> str:
    return f"{part.get('filename')} ({part.get('content_type') or 'no type'}) in {part.get('file')}"


def _as_list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    return [v for v in value or [] if isinstance(v, dict)]


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_part(part) for part in content)
    return json.dumps(content)


def _part(part: Any) -> str:
    if not isinstance(part, dict):
        return str(part)
    if part.get("type") == "tool_use":
        return f"-> {part.get('name')}({json.dumps(part.get('input'))}) [{part.get('id', '')}]"
    if part.get("type") == "tool_result":
        return f"[{part.get('tool_use_id', '')}] {_text(part.get('content'))}"
    if part.get("type") == "document" and isinstance(part.get("document"), dict):  # Cohere's tool results
        return _text(part["document"].get("data"))
    if isinstance(part.get("toolUse"), dict):  # Bedrock Converse
        use = part["toolUse"]
        return f"-> {use.get('name')}({json.dumps(use.get('input'))}) [{use.get('toolUseId', '')}]"
    if isinstance(part.get("toolResult"), dict):
        result = part["toolResult"]
        return f"[{result.get('toolUseId', '')}] {_text(result.get('content'))}"
    return str(part.get("text", "")) or f"<{part.get('type', 'part')}>"
