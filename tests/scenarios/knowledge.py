"""The knowledge-search tool loop of llama-stack's file-search tests, on the plain openai SDK.

The model is made to call ``knowledge_search``; the application searches a small in-memory
document set (attributes: region, category, date), sends the results back under the call's
``tool_call_id``, and the model answers, citing files as ``<|file-...|>``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import openai

SETTINGS: dict[str, Any] = {"temperature": 0, "max_tokens": 120}
SYSTEM = (
    "You answer questions about company updates. Search the knowledge base with the user's question, "
    "then answer from the results and cite the files you use as <|file-id|>."
)

DOCUMENTS = [
    {
        "id": "file-247992711531",
        "filename": "us_engineering_q2.txt",
        "region": "us",
        "category": "engineering",
        "date": 1680307200,
        "text": "US technical updates for Q2 2023. New features deployed in the US region.",
    },
    {
        "id": "file-247992711530",
        "filename": "us_marketing_q1.txt",
        "region": "us",
        "category": "marketing",
        "date": 1672531200,
        "text": "US promotional campaigns for Q1 2023. Revenue increased by 15% in the US region.",
    },
    {
        "id": "file-247992711532",
        "filename": "eu_engineering_q1.txt",
        "region": "eu",
        "category": "engineering",
        "date": 1675209600,
        "text": "EU infrastructure updates for Q1 2023. Data centers moved to renewable power.",
    },
    {
        "id": "file-247992711533",
        "filename": "eu_sales_q3.txt",
        "region": "eu",
        "category": "sales",
        "date": 1688169600,
        "text": "EU sales figures for Q3 2023. Enterprise contracts grew by 8% across the EU.",
    },
]

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "knowledge_search",
            "description": "Search for information in a database.",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {
                        "type": "string",
                        "description": (
                            "The query to search for. Can be a natural language sentence or keywords."
                        ),
                    }
                },
                "required": ["query"],
            },
        },
    }
]
FORCE_SEARCH = {"type": "function", "function": {"name": "knowledge_search"}}


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def search(query: str, limit: int = 2) -> list[tuple[float, dict[str, Any]]]:
    """Documents ranked by the share of their words and attributes that the query mentions."""
    asked = words(query)
    scored = []
    for doc in DOCUMENTS:
        vocabulary = words(doc["text"]) | {doc["region"], doc["category"]}
        scored.append((round(len(asked & vocabulary) / len(vocabulary), 4), doc))
    scored.sort(key=lambda pair: (-pair[0], -pair[1]["date"]))
    return scored[:limit]


def tool_result(query: str) -> str:
    """The tool message content, in llama-stack's words (joined: llama.cpp takes only a string)."""
    found = search(query)
    parts = [f"knowledge_search tool found {len(found)} chunks:\nBEGIN of knowledge_search tool results.\n"]
    for rank, (score, doc) in enumerate(found, start=1):
        attributes = {k: doc[k] for k in ("region", "category", "date", "filename")}
        parts.append(
            f"[{rank}] document_id: {doc['id']}, score: {score}, attributes: {attributes} "
            f"(cite as <|{doc['id']}|>)\n{doc['text']}\n"
        )
    parts.append("END of knowledge_search tool results.\n")
    parts.append(
        f'The above results were retrieved to help answer the user\'s query: "{query}". Cite them.\n'
    )
    return "".join(parts)


def query_of(arguments: str, question: str) -> str:
    """The query the model asked for; a small model's malformed arguments fall back to the question."""
    try:
        query = json.loads(arguments).get("query")
    except (json.JSONDecodeError, AttributeError):
        query = None
    return query if isinstance(query, str) and query.strip() else question


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass
class KnowledgeAgent:
    """Answers questions with one forced knowledge search; keeps the conversation it had."""

    client: openai.OpenAI | openai.AsyncOpenAI
    model: str
    messages: list[dict[str, Any]] = field(default_factory=lambda: [{"role": "system", "content": SYSTEM}])

    def _after_call(self, question: str, calls: list[ToolCall]) -> None:
        self.messages.append(
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                    for c in calls
                ],
            }
        )
        for call in calls:
            self.messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call.id,
                    "content": tool_result(query_of(call.arguments, question)),
                }
            )

    def ask(self, question: str, *, stream: bool = False) -> str:
        assert isinstance(self.client, openai.OpenAI)
        self.messages.append({"role": "user", "content": question})
        request = {"model": self.model, "messages": self.messages, "tools": TOOLS, **SETTINGS}
        if stream:
            with self.client.chat.completions.create(
                **request, tool_choice=FORCE_SEARCH, stream=True
            ) as chunks:
                calls = gather_tool_calls(list(chunks))
        else:
            message = (
                self.client.chat.completions.create(**request, tool_choice=FORCE_SEARCH).choices[0].message
            )
            calls = [ToolCall(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []]
        self._after_call(question, calls)
        request["messages"] = self.messages
        if stream:
            with self.client.chat.completions.create(**request, tool_choice="none", stream=True) as chunks:
                answer = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            answer = (
                self.client.chat.completions.create(**request, tool_choice="none").choices[0].message.content
                or ""
            )
        self.messages.append({"role": "assistant", "content": answer})
        return answer

    def chat(self, text: str) -> str:
        """A turn without tools, remembering the conversation."""
        assert isinstance(self.client, openai.OpenAI)
        self.messages.append({"role": "user", "content": text})
        completion = self.client.chat.completions.create(model=self.model, messages=self.messages, **SETTINGS)
        answer = completion.choices[0].message.content or ""
        self.messages.append({"role": "assistant", "content": answer})
        return answer

    async def aask(self, question: str, *, stream: bool = False) -> str:
        assert isinstance(self.client, openai.AsyncOpenAI)
        self.messages.append({"role": "user", "content": question})
        request = {"model": self.model, "messages": self.messages, "tools": TOOLS, **SETTINGS}
        if stream:
            chunks = await self.client.chat.completions.create(
                **request, tool_choice=FORCE_SEARCH, stream=True
            )
            calls = gather_tool_calls([c async for c in chunks])
        else:
            completion = await self.client.chat.completions.create(**request, tool_choice=FORCE_SEARCH)
            message = completion.choices[0].message
            calls = [ToolCall(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []]
        self._after_call(question, calls)
        request["messages"] = self.messages
        completion = await self.client.chat.completions.create(**request, tool_choice="none")
        answer = completion.choices[0].message.content or ""
        self.messages.append({"role": "assistant", "content": answer})
        return answer


def gather_tool_calls(chunks: list[Any]) -> list[ToolCall]:
    """Tool calls put together from streamed deltas: id and name first, arguments in pieces."""
    calls: dict[int, ToolCall] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, ToolCall("", "", ""))
                call.id = call.id or delta.id or ""
                if delta.function:
                    call.name = call.name or delta.function.name or ""
                    call.arguments += delta.function.arguments or ""
    return [calls[index] for index in sorted(calls)]
