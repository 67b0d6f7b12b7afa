"""Payloads in the documented wire formats of Anthropic Messages, OpenAI Responses, legacy OpenAI
completions and Ollama's native API. Replies are deterministic functions of the request; ids
and timestamps are fresh on every call, as a live API's are."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

MODEL = "served-model"

# How the answers differ from the usual ones (the servers' ``--variant``), as a live model's do after an
# upgrade: "" not at all; "text": other wording; "tools": a tool call's arguments gain a key.
VARIANT = ""


def worded(text: str) -> str:
    """The answer's text, reworded in the "text" variant."""
    return f"Put another way, and at more length than before: {text}" if VARIANT == "text" else text


def argued(arguments: dict[str, Any]) -> dict[str, Any]:
    """A tool call's arguments, with one more key in the "tools" variant."""
    return {**arguments, "unit": "metric"} if VARIANT == "tools" else arguments


def _fresh(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))
    return ""


def words(text: str) -> list[str]:
    parts = text.split(" ")
    return [part if index == 0 else " " + part for index, part in enumerate(parts)]


def sse(event: str | None, data: Any, *, crlf: bool = False, multiline: bool = False) -> bytes:
    """One SSE event; optionally with CRLF line ends, or its JSON spread over several data lines."""
    text = json.dumps(data, indent=1 if multiline else None)
    lines = ([f"event: {event}"] if event else []) + [f"data: {line}" for line in text.split("\n")]
    end = "\r\n" if crlf else "\n"
    return (end.join(lines) + end + end).encode()


# Anthropic Messages ---------------------------------------------------------------------------


def _anthropic_tool_result(message: dict[str, Any]) -> str | None:
    """The text of the ``tool_result`` block a user message carries, if it carries one."""
    content = message.get("content")
    blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
    for block in blocks:
        if block.get("type") == "tool_result":
            inner = block.get("content") or ""
            return inner if isinstance(inner, str) else "".join(p.get("text", "") for p in inner)
    return None


def anthropic_reply(body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """The text, or the tool call, the assistant answers with: a tool call to a user's question when
    tools are offered, an answer quoting the result once the tool's result comes back."""
    tools = body.get("tools") or []
    messages = body.get("messages", [])
    result = _anthropic_tool_result(messages[-1]) if messages else None
    if result is not None:
        return worded(f"The tool said: {result}"), None
    if tools and messages and messages[-1].get("role") == "user":
        properties = (tools[0].get("input_schema") or {}).get("properties") or {"location": {}}
        arguments = argued({next(iter(properties)): _last_user_text(messages)})
        return "", {"name": tools[0]["name"], "input": arguments}
    return worded(f"Echo: {_last_user_text(messages)}"), None


def anthropic_message(body: dict[str, Any]) -> dict[str, Any]:
    text, tool = anthropic_reply(body)
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    if tool:
        content.append({"type": "tool_use", "id": _fresh("toolu_"), **tool})
    return {
        "id": _fresh("msg_"),
        "type": "message",
        "role": "assistant",
        "model": body.get("model", MODEL),
        "content": content,
        "stop_reason": "tool_use" if tool else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 7},
    }


def anthropic_stream(body: dict[str, Any]) -> list[bytes]:
    """A Messages stream with CRLF line ends, a keep-alive comment, a ping and a multi-line data field."""
    message = anthropic_message(body)
    start = {**message, "content": [], "stop_reason": None, "usage": {"input_tokens": 12, "output_tokens": 1}}
    events = [sse("message_start", {"type": "message_start", "message": start}, crlf=True, multiline=True)]
    events.append(b": keep-alive\r\n\r\n")
    events.append(sse("ping", {"type": "ping"}, crlf=True))
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            events.append(
                sse(
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "text", "text": ""},
                    },
                    crlf=True,
                )
            )
            for piece in words(block["text"]):
                delta = {"type": "text_delta", "text": piece}
                events.append(
                    sse(
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": delta},
                        crlf=True,
                    )
                )
        else:
            opened = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            events.append(
                sse(
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": opened},
                    crlf=True,
                )
            )
            arguments = json.dumps(block["input"])
            for at in range(0, len(arguments), 6):
                delta = {"type": "input_json_delta", "partial_json": arguments[at : at + 6]}
                events.append(
                    sse(
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": delta},
                        crlf=True,
                    )
                )
        events.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}, crlf=True))
    ending = {
        "type": "message_delta",
        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
        "usage": {"output_tokens": 7},
    }
    events.append(sse("message_delta", ending, crlf=True))
    events.append(sse("message_stop", {"type": "message_stop"}, crlf=True))
    return events


# OpenAI Responses -----------------------------------------------------------------------------


def _response(body: dict[str, Any], status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": _fresh("resp_"),
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": body.get("model", MODEL),
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": body.get("tools", []),
        "temperature": 1.0,
        "top_p": 1.0,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "metadata": {},
        "usage": {
            "input_tokens": 9,
            "output_tokens": 6,
            "total_tokens": 15,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    }


def _responses_input_text(body: dict[str, Any]) -> str:
    given = body.get("input", "")
    return given if isinstance(given, str) else _last_user_text(given)


def _function_output(body: dict[str, Any]) -> str | None:
    """The output of the last input item when it is a tool's result (``function_call_output``)."""
    given = body.get("input")
    last = given[-1] if isinstance(given, list) and given else {}
    return str(last.get("output")) if last.get("type") == "function_call_output" else None


def responses_output(body: dict[str, Any]) -> list[dict[str, Any]]:
    result = _function_output(body)
    if body.get("tools") and result is None:
        name = body["tools"][0]["name"]
        properties = (body["tools"][0].get("parameters") or {}).get("properties") or {"city": {}}
        arguments = json.dumps({next(iter(properties)): _responses_input_text(body)})
        return [
            {
                "type": "function_call",
                "id": _fresh("fc_"),
                "call_id": _fresh("call_"),
                "name": name,
                "arguments": arguments,
                "status": "completed",
            }
        ]
    text = f"The tool said: {result}" if result is not None else f"Echo: {_responses_input_text(body)}"
    part = {"type": "output_text", "text": text, "annotations": []}
    return [
        {
            "type": "message",
            "id": _fresh("msg_"),
            "status": "completed",
            "role": "assistant",
            "content": [part],
        }
    ]


def responses_object(body: dict[str, Any]) -> dict[str, Any]:
    return _response(body, "completed", responses_output(body))


def responses_stream(body: dict[str, Any]) -> list[bytes]:
    final = responses_object(body)
    started = {**final, "status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
    ]
    for index, item in enumerate(final["output"]):
        if item["type"] == "function_call":
            events.append(
                {
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": {**item, "arguments": "", "status": "in_progress"},
                }
            )
            for at in range(0, len(item["arguments"]), 5):
                events.append(
                    {
                        "type": "response.function_call_arguments.delta",
                        "item_id": item["id"],
                        "output_index": index,
                        "delta": item["arguments"][at : at + 5],
                    }
                )
            events.append(
                {
                    "type": "response.function_call_arguments.done",
                    "item_id": item["id"],
                    "output_index": index,
                    "arguments": item["arguments"],
                    "name": item["name"],
                }
            )
        else:
            text = item["content"][0]["text"]
            events.append(
                {
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": {**item, "status": "in_progress", "content": []},
                }
            )
            empty = {"type": "output_text", "text": "", "annotations": []}
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            events.append({"type": "response.content_part.added", **where, "part": empty})
            events += [
                {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
                for piece in words(text)
            ]
            events.append({"type": "response.output_text.done", **where, "text": text, "logprobs": []})
            events.append({"type": "response.content_part.done", **where, "part": item["content"][0]})
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    events.append({"type": "response.completed", "response": final})
    return [sse(event["type"], {**event, "sequence_number": number}) for number, event in enumerate(events)]


# Legacy OpenAI completions --------------------------------------------------------------------


def completion_chunks(body: dict[str, Any]) -> list[dict[str, Any]]:
    call_id, created = _fresh("cmpl-"), int(time.time())
    pieces = words(f"Continued: {body.get('prompt', '')}")
    chunks = [
        {
            "id": call_id,
            "object": "text_completion",
            "created": created,
            "model": body.get("model"),
            "choices": [{"text": piece, "index": 0, "logprobs": None, "finish_reason": None}],
        }
        for piece in pieces
    ]
    chunks[-1]["choices"][0]["finish_reason"] = "stop"
    return chunks


def completion_object(body: dict[str, Any]) -> dict[str, Any]:
    chunks = completion_chunks(body)
    text = "".join(c["choices"][0]["text"] for c in chunks)
    choice = {"text": text, "index": 0, "logprobs": None, "finish_reason": "stop"}
    usage = {"prompt_tokens": 4, "completion_tokens": len(chunks), "total_tokens": 4 + len(chunks)}
    return {**chunks[0], "choices": [choice], "usage": usage}


# Ollama native --------------------------------------------------------------------------------


def _ollama_base(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": body.get("model", MODEL),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
    }


def _stats() -> dict[str, Any]:
    return {
        "total_duration": 4883583458,
        "load_duration": 1334875,
        "prompt_eval_count": 26,
        "prompt_eval_duration": 342546000,
        "eval_count": 12,
        "eval_duration": 4535599000,
    }


def ollama_chat(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The NDJSON lines of /api/chat; one line when not streamed."""
    text = worded(f"Echo: {_last_user_text(body.get('messages', []))}")
    final = {
        **_ollama_base(body),
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
        **_stats(),
    }
    if body.get("stream", True) is False:
        return [{**final, "message": {"role": "assistant", "content": text}}]
    pieces = [
        {**_ollama_base(body), "message": {"role": "assistant", "content": p}, "done": False}
        for p in words(text)
    ]
    return [*pieces, final]


def ollama_generate(body: dict[str, Any]) -> list[dict[str, Any]]:
    text = f"Continued: {body.get('prompt', '')}"
    final = {
        **_ollama_base(body),
        "response": "",
        "done": True,
        "done_reason": "stop",
        "context": [1, 2, 3],
        **_stats(),
    }
    if body.get("stream", True) is False:
        return [{**final, "response": text}]
    return [*({**_ollama_base(body), "response": p, "done": False} for p in words(text)), final]


def ollama_embed(body: dict[str, Any]) -> dict[str, Any]:
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    return {
        "model": body.get("model", MODEL),
        "embeddings": [[len(t) / 10, 0.25, -0.5] for t in inputs],
        "total_duration": 14143917,
        "load_duration": 1019500,
        "prompt_eval_count": 8,
    }
