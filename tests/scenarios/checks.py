"""What the memory scenarios assert: which messages each turn sent, and that answers came from the tape."""

from __future__ import annotations

import json
from typing import Any

from llmtape import Call
from tests.scenarios.conversation import (
    INTRODUCTION,
    OTHER_TURNS,
    SUMMARY_PROMPT,
    SYSTEM,
    TOKEN_BUDGET,
    TURNS,
    count_tokens,
)

Messages = list[dict[str, Any]]


def chat_calls(calls: list[Call]) -> list[Call]:
    """The conversational calls, summarization calls left out."""
    return [c for c in calls if not is_summary(c)]


def chat_requests(calls: list[Call]) -> list[Messages]:
    """The messages each conversational call sent."""
    return [c.body["messages"] for c in chat_calls(calls)]


def summary_calls(calls: list[Call]) -> list[Call]:
    return [c for c in calls if is_summary(c)]


def is_summary(call: Call) -> bool:
    return bool(call.body["messages"]) and call.body["messages"][0]["content"] == SUMMARY_PROMPT


def text(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


def recorded_answer(call: Call) -> str:
    """The assistant text stored in the recording of a call, assembled from its chunks if streamed."""
    response = json.loads(call.path.read_text())["response"]
    if not response["is_streaming"]:
        return text(response["body"]["__data__"]["choices"][0]["message"])
    pieces = [
        choice["delta"].get("content") or ""
        for chunk in response["body"]
        for choice in chunk["__data__"]["choices"]
    ]
    return "".join(pieces)


def recorded_tool_calls(call: Call) -> list[dict[str, str]]:
    """The tool calls stored in the recording of a call; streamed ones put together from their deltas."""
    response = json.loads(call.path.read_text())["response"]
    if not response["is_streaming"]:
        message = response["body"]["__data__"]["choices"][0]["message"]
        return [{"id": c["id"], **c["function"]} for c in message["tool_calls"]]
    calls: dict[int, dict[str, str]] = {}
    for chunk in response["body"]:
        for choice in chunk["__data__"]["choices"]:
            for delta in choice["delta"].get("tool_calls") or []:
                merged = calls.setdefault(delta["index"], {"id": "", "name": "", "arguments": ""})
                merged["id"] = merged["id"] or delta.get("id") or ""
                merged["name"] = merged["name"] or delta["function"].get("name") or ""
                merged["arguments"] += delta["function"].get("arguments") or ""
    return [calls[index] for index in sorted(calls)]


def argument_pieces(call: Call) -> int:
    """How many streamed chunks carried a piece of tool-call arguments."""
    response = json.loads(call.path.read_text())["response"]
    return sum(
        bool(delta["function"].get("arguments"))
        for chunk in response["body"]
        for choice in chunk["__data__"]["choices"]
        for delta in choice["delta"].get("tool_calls") or []
    )


def history(messages: Messages) -> Messages:
    """What a request carried besides its system prompt and the new user turn."""
    assert messages[0] == {"role": "system", "content": SYSTEM}, messages[0]
    return messages[1:-1]


def assert_turns(requests: list[Messages], turns: list[str]) -> None:
    """Each request ends with the user turn it was made for."""
    assert [r[-1] for r in requests] == [{"role": "user", "content": t} for t in turns]


def assert_buffer(requests: list[Messages], turns: list[str], answers: list[str]) -> None:
    """Every earlier turn and answer is sent again, in order."""
    assert_turns(requests, turns)
    for index, messages in enumerate(requests):
        expected = [
            m
            for t, a in zip(turns[:index], answers[:index], strict=True)
            for m in (("user", t), ("assistant", a))
        ]
        assert [(m["role"], text(m)) for m in history(messages)] == expected


def assert_window(requests: list[Messages], turns: list[str], answers: list[str], k: int) -> None:
    """Only the last ``k`` messages are sent: the last request no longer has the introduction."""
    assert_turns(requests, turns)
    for index, messages in enumerate(requests):
        full = [
            m
            for t, a in zip(turns[:index], answers[:index], strict=True)
            for m in (("user", t), ("assistant", a))
        ]
        assert [(m["role"], text(m)) for m in history(messages)] == full[-k:]
    assert all(text(m) != INTRODUCTION for m in requests[-1])


def assert_summary(requests: list[Messages], turns: list[str], summaries: list[str]) -> None:
    """After the first turn, a request carries the latest summary and none of the earlier messages."""
    assert_turns(requests, turns)
    assert history(requests[0]) == []
    for messages, summary in zip(requests[1:], summaries, strict=False):
        (carried,) = history(messages)
        assert carried["role"] == "system"
        assert text(carried).endswith(summary)


def assert_summary_buffer(calls: list[Call]) -> None:
    """Recent messages stay within the budget; once the introduction is folded away, its summary is sent."""
    requests = chat_requests(calls)
    assert_turns(requests, TURNS)
    for messages in requests:
        recent = [m for m in history(messages) if m["role"] != "system"]
        assert sum(count_tokens(text(m)) for m in recent) <= TOKEN_BUDGET
    assert summary_calls(calls), "the budget never overflowed"
    last = history(requests[-1])
    assert last[0]["role"] == "system"
    assert last[0]["content"].startswith("Summary of earlier conversation: ")
    assert all(text(m) != INTRODUCTION for m in last)


def assert_sessions_apart(calls: list[Call]) -> None:
    """Two interleaved sessions of two turns each: neither saw the other's messages."""
    requests = chat_requests(calls)
    james = [r for r in requests if any(text(m) in OTHER_TURNS for m in r)]
    ankur = [r for r in requests if r not in james]
    assert len(james) == len(ankur) == 2
    assert all(INTRODUCTION not in text(m) for r in james for m in r)
    assert all(text(m) not in OTHER_TURNS for r in ankur for m in r)
    assert len(history(james[-1])) == len(history(ankur[-1])) == 2
