"""Cohere's v2 API (``/v2/chat``, ``/v2/embed``, ``/v2/rerank``, and ``/v1/rerank``) as a person reads it:
the reply put together from a whole answer or from its stream events, embeddings and rankings."""

from __future__ import annotations

from typing import Any

from llmtape.format.reply import Reply, ToolCall


def reply(data: list[dict[str, Any]]) -> Reply:
    """The text, tool plan and tool calls of a ``V2ChatResponse`` or of its stream events, the finish
    reason and the usage (tokens and billed units)."""
    result, calls = Reply(), dict[int, ToolCall]()
    for item in data:
        kind, delta = item.get("type"), item.get("delta") or {}
        message = delta.get("message") or {}
        if kind is None and isinstance(item.get("message"), dict):  # a whole answer
            _message(result, item["message"], calls)
            result.finish, result.usage = item.get("finish_reason"), item.get("usage")
        elif kind in ("message-start", "content-start", "content-delta", "tool-plan-delta"):
            _message(result, message, calls)
        elif kind in ("tool-call-start", "tool-call-delta"):
            _call(calls, item.get("index", 0), message.get("tool_calls") or {})
        elif kind == "message-end":
            result.finish, result.usage = delta.get("finish_reason"), delta.get("usage")
    result.tool_calls = [calls[index] for index in sorted(calls)]
    return result


def _message(result: Reply, message: dict[str, Any], calls: dict[int, ToolCall]) -> None:
    """A message or a message delta: its content is a list of parts, or one part in a delta."""
    content = message.get("content") or []
    for part in [content] if isinstance(content, dict) else content:
        if isinstance(part, dict):
            result.text += part.get("text") or ""
            result.reasoning += part.get("thinking") or ""
    result.reasoning += message.get("tool_plan") or ""
    for index, call in enumerate(message.get("tool_calls") or []):
        _call(calls, index, call)


def _call(calls: dict[int, ToolCall], index: int, call: dict[str, Any]) -> None:
    merged = calls.setdefault(index, ToolCall("", "", ""))
    function = call.get("function") or {}
    merged.id = merged.id or call.get("id") or ""
    merged.name = merged.name or function.get("name") or ""
    merged.arguments += function.get("arguments") or ""


def vectors(data: list[dict[str, Any]]) -> Reply:
    """A summary of ``/v2/embed``: its embeddings, by type (float, int8...)."""
    item = data[0] if data else {}
    by_type = item.get("embeddings") or {}
    if isinstance(by_type, list):  # the v1 layout, one list of floats
        by_type = {"float": by_type}
    first = next((v for v in by_type.values() if isinstance(v, list) and v), [])
    size = len(first[0]) if first and isinstance(first[0], list) else 0
    text = f"{len(first)} embedding(s) of dimension {size} ({', '.join(by_type)})"
    return Reply(text=text, usage=(item.get("meta") or {}).get("billed_units"))


def rerank(data: list[dict[str, Any]]) -> Reply:
    """A summary of a rerank: the documents' indices in ranked order, with their scores."""
    item = data[0] if data else {}
    results = [r for r in item.get("results") or [] if isinstance(r, dict)]
    ranked = ", ".join(f"#{r.get('index')} {r.get('relevance_score', 0):.3f}" for r in results[:5])
    more = " ..." if len(results) > 5 else ""
    return Reply(
        text=f"{len(results)} result(s): {ranked}{more}", usage=(item.get("meta") or {}).get("billed_units")
    )
