"""The four memory strategies written against the plain openai SDK, sync and async."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai

from tests.scenarios.conversation import SYSTEM, count_tokens, summary_request

Message = dict[str, str]
Summarize = Callable[[str, list[Message]], str]


def transcript(messages: list[Message]) -> list[str]:
    return [f"{m['role']}: {m['content']}" for m in messages]


@dataclass
class BufferMemory:
    """Keeps the whole conversation."""

    messages: list[Message] = field(default_factory=list)

    def context(self) -> list[Message]:
        return list(self.messages)

    def add(self, user: Message, assistant: Message) -> None:
        self.messages += [user, assistant]


@dataclass
class WindowMemory(BufferMemory):
    """Keeps the last ``k`` messages."""

    k: int = 4

    def context(self) -> list[Message]:
        return self.messages[-self.k :]


@dataclass
class SummaryMemory:
    """Keeps an LLM-written summary of the whole conversation instead of the messages."""

    summarize: Summarize
    summary: str = ""

    def context(self) -> list[Message]:
        return (
            [{"role": "system", "content": f"Summary of the conversation so far: {self.summary}"}]
            if self.summary
            else []
        )

    def add(self, user: Message, assistant: Message) -> None:
        self.summary = self.summarize(self.summary, [user, assistant])


@dataclass
class SummaryBufferMemory:
    """Keeps recent messages within a token budget and a summary of the older ones."""

    summarize: Summarize
    budget: int
    summary: str = ""
    messages: list[Message] = field(default_factory=list)

    def context(self) -> list[Message]:
        head = (
            [{"role": "system", "content": f"Summary of earlier conversation: {self.summary}"}]
            if self.summary
            else []
        )
        return head + self.messages

    def add(self, user: Message, assistant: Message) -> None:
        self.messages += [user, assistant]
        overflow: list[Message] = []
        while sum(count_tokens(m["content"]) for m in self.messages) > self.budget and self.messages:
            overflow += self.messages[:2]
            self.messages = self.messages[2:]
        if overflow:
            self.summary = self.summarize(self.summary, overflow)


def summarizer(client: openai.OpenAI, model: str) -> Summarize:
    def summarize(previous: str, new: list[Message]) -> str:
        request = summary_request(previous, transcript(new))
        completion = client.chat.completions.create(model=model, messages=request, **SETTINGS)  # type: ignore[arg-type]
        return (completion.choices[0].message.content or "").strip()

    return summarize


SETTINGS: dict[str, Any] = {"temperature": 0, "max_tokens": 40}


@dataclass
class Chatbot:
    """A chatbot with one memory per session id."""

    client: openai.OpenAI
    model: str
    memory: Callable[[], Any]
    sessions: dict[str, Any] = field(default_factory=dict)

    def ask(self, session: str, text: str, *, stream: bool = False) -> str:
        memory = self.sessions.setdefault(session, self.memory())
        user = {"role": "user", "content": text}
        messages = [{"role": "system", "content": SYSTEM}, *memory.context(), user]
        answer = self._stream(messages) if stream else self._complete(messages)
        memory.add(user, {"role": "assistant", "content": answer})
        return answer

    def _complete(self, messages: list[Message]) -> str:
        completion = self.client.chat.completions.create(model=self.model, messages=messages, **SETTINGS)  # type: ignore[arg-type]
        return completion.choices[0].message.content or ""

    def _stream(self, messages: list[Message]) -> str:
        with self.client.chat.completions.create(
            model=self.model,
            messages=messages,
            stream=True,
            **SETTINGS,  # type: ignore[arg-type]
        ) as chunks:
            return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


@dataclass
class AsyncChatbot:
    """The async form of :class:`Chatbot`, with a buffer memory."""

    client: openai.AsyncOpenAI
    model: str
    sessions: dict[str, BufferMemory] = field(default_factory=dict)

    async def ask(self, session: str, text: str, *, stream: bool = False) -> str:
        memory = self.sessions.setdefault(session, BufferMemory())
        user = {"role": "user", "content": text}
        messages = [{"role": "system", "content": SYSTEM}, *memory.context(), user]
        if stream:
            chunks = await self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                stream=True,
                **SETTINGS,  # type: ignore[arg-type]
            )
            answer = "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
        else:
            completion = await self.client.chat.completions.create(
                model=self.model, messages=messages, **SETTINGS
            )  # type: ignore[arg-type]
            answer = completion.choices[0].message.content or ""
        memory.add(user, {"role": "assistant", "content": answer})
        return answer
