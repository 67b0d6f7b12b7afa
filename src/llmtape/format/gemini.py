"""Gemini and Vertex AI (``models/{model}:generateContent`` and its siblings) as a person reads them: the
request's contents and system instruction, the reply put together from its chunks, embeddings and counts.

The REST API reads camelCase and snake_case field names alike; both are read here.
"""

from __future__ import annotations

import json
import re
from typing import Any

from llmtape.format.reply import Reply, ToolCall

_MODEL = re.compile(r"[mM]odels/([^/:]+):\w+$")  # models/..., tunedModels/...
USAGE = ("promptTokenCount", "candidatesTokenCount", "totalTokenCount", "thoughtsTokenCount")


def model(endpoint: str) -> str | None:
    """The model named in the URL path (``.../models/gemini-2.0-flash:generateContent``)."""
    found = _MODEL.search(endpoint)
    return found.group(1) if found else None


def field(value: Any, camel: str) -> Any:
    """A field by its camelCase name or the snake_case one the API reads as well."""
    if not isinstance(value, dict):
        return None
    snake = re.sub(r"[A-Z]", lambda upper: "_" + upper.group().lower(), camel)
    return value.get(camel, value.get(snake))


def reply(data: list[dict[str, Any]]) -> Reply:
    """The first candidate's text, thoughts and function calls over every chunk, its finish reason and
    the usage the last chunk counted."""
    result = Reply()
    for item in data:
        for candidate in field(item, "candidates") or []:
            if isinstance(candidate, dict) and candidate.get("index", 0) == 0:
                for part in (candidate.get("content") or {}).get("parts") or []:
                    _add_part(result, part)
                result.finish = field(candidate, "finishReason") or result.finish
        blocked = field(field(item, "promptFeedback"), "blockReason")
        result.finish = f"blocked: {blocked}" if blocked else result.finish
        usage = field(item, "usageMetadata") or {}
        result.usage = {name: usage[name] for name in USAGE if name in usage} or result.usage
    return result


def _add_part(result: Reply, part: dict[str, Any]) -> None:
    call = field(part, "functionCall")
    if isinstance(call, dict):
        arguments = json.dumps(call.get("args") or {})
        result.tool_calls.append(ToolCall(call.get("id") or "", call.get("name") or "", arguments))
    elif "text" in part and part.get("thought"):
        result.reasoning += part["text"]
    elif "text" in part:
        result.text += part["text"]


def vectors(data: list[dict[str, Any]]) -> Reply:
    """A summary of ``:embedContent`` (one embedding) or ``:batchEmbedContents`` (several)."""
    item = data[0] if data else {}
    found = item.get("embeddings") or ([item["embedding"]] if item.get("embedding") else [])
    sizes = [len(e.get("values") or []) for e in found if isinstance(e, dict)]
    usage = field(item, "usageMetadata")
    return Reply(text=f"{len(found)} embedding(s) of dimension {sizes[0] if sizes else 0}", usage=usage)


def count(data: list[dict[str, Any]]) -> Reply:
    """A summary of ``:countTokens``."""
    item = data[0] if data else {}
    return Reply(text=f"{field(item, 'totalTokens')} tokens counted")


def messages(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The system instruction and the contents as (role, text) pairs, function calls and results
    included."""
    pairs: list[tuple[str, str]] = []
    system = field(body, "systemInstruction")
    if system:
        pairs.append(("system", _text(system)))
    contents = body.get("contents") or []
    for content in [contents] if isinstance(contents, dict) else contents:
        if isinstance(content, dict):
            pairs.append((content.get("role") or "user", _text(content)))
    return pairs


def tools(body: dict[str, Any]) -> list[str]:
    """The functions declared, and the built-in tools (``googleSearch``, ``codeExecution``) by name."""
    names: list[str] = []
    for tool in body.get("tools") or []:
        declared = field(tool, "functionDeclarations") if isinstance(tool, dict) else None
        if declared:
            names += [d.get("name", "?") for d in declared if isinstance(d, dict)]
        elif isinstance(tool, dict):
            names += list(tool)
    return names


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = (content.get("parts") or []) if isinstance(content, dict) else []
    return "\n".join(_part(part) for part in parts if isinstance(part, dict)).strip()


def _part(part: dict[str, Any]) -> str:
    call, result = field(part, "functionCall"), field(part, "functionResponse")
    if isinstance(call, dict):
        called = f"-> {call.get('name')}({json.dumps(call.get('args') or {})})"
        return f"{called} [{call['id']}]" if call.get("id") else called
    if isinstance(result, dict):
        return f"[{result.get('name', '')}] {json.dumps(result.get('response'))}"
    if "text" in part:
        return str(part["text"])
    return f"<{next(iter(part), 'part')}>"  # inlineData, fileData, executableCode...
