"""The four memory strategies the tutorial's LangChain way: RunnableWithMessageHistory over chat histories.

RunnableWithMessageHistory and InMemoryChatMessageHistory are deprecated since langchain-core 1.6,
yet most applications still use them; the tests that do scope the deprecation warning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.chat_history import BaseChatMessageHistory, InMemoryChatMessageHistory
from langchain_core.messages import BaseMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import ConfigurableFieldSpec
from langchain_core.runnables.history import RunnableWithMessageHistory
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, ConfigDict, Field

from tests.scenarios.conversation import SYSTEM, count_tokens, summary_request
from tests.scenarios.memory_openai import SETTINGS


def chat_model(base_url: str, api_key: str, model: str, **extra: Any) -> ChatOpenAI:
    return ChatOpenAI(base_url=base_url, api_key=api_key, model=model, max_retries=0, **SETTINGS, **extra)  # type: ignore[arg-type]


class BufferWindowMessageHistory(BaseChatMessageHistory, BaseModel):
    """The tutorial's window: keeps the last ``k`` messages."""

    messages: list[BaseMessage] = Field(default_factory=list)
    k: int = 4

    def add_messages(self, messages: list[BaseMessage]) -> None:  # type: ignore[override]
        self.messages = [*self.messages, *messages][-self.k :]

    def clear(self) -> None:
        self.messages = []


def summarize(llm: ChatOpenAI, previous: str, messages: list[BaseMessage]) -> str:
    lines = [f"{'user' if m.type == 'human' else 'assistant'}: {m.content}" for m in messages]
    return str(llm.invoke(summary_request(previous, lines)).content).strip()


class SummaryMessageHistory(BaseChatMessageHistory, BaseModel):
    """Keeps one system message: an LLM-written summary of everything said."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    llm: ChatOpenAI
    summary: str = ""
    messages: list[BaseMessage] = Field(default_factory=list)

    def add_messages(self, messages: list[BaseMessage]) -> None:  # type: ignore[override]
        self.summary = summarize(self.llm, self.summary, messages)
        self.messages = [SystemMessage(content=f"Summary of the conversation so far: {self.summary}")]

    def clear(self) -> None:
        self.summary, self.messages = "", []


class SummaryBufferMessageHistory(BaseChatMessageHistory, BaseModel):
    """Keeps recent messages within a token budget, and a summary of the older ones."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    llm: ChatOpenAI
    budget: int
    summary: str = ""
    recent: list[BaseMessage] = Field(default_factory=list)
    messages: list[BaseMessage] = Field(default_factory=list)

    def add_messages(self, messages: list[BaseMessage]) -> None:  # type: ignore[override]
        self.recent = [*self.recent, *messages]
        overflow: list[BaseMessage] = []
        while sum(count_tokens(str(m.content)) for m in self.recent) > self.budget and self.recent:
            overflow, self.recent = [*overflow, *self.recent[:2]], self.recent[2:]
        if overflow:
            self.summary = summarize(self.llm, self.summary, overflow)
        head = (
            [SystemMessage(content=f"Summary of earlier conversation: {self.summary}")]
            if self.summary
            else []
        )
        self.messages = [*head, *self.recent]

    def clear(self) -> None:
        self.summary, self.recent, self.messages = "", [], []


def with_history(llm: ChatOpenAI, history: Callable[..., BaseChatMessageHistory], **factory: Any) -> Any:
    """The tutorial's pipeline: system prompt, history placeholder, the query; wrapped with a history."""
    prompt = ChatPromptTemplate.from_messages(
        [("system", SYSTEM), MessagesPlaceholder(variable_name="history"), ("human", "{query}")]
    )
    return RunnableWithMessageHistory(
        prompt | llm,
        get_session_history=history,
        input_messages_key="query",
        history_messages_key="history",
        **factory,
    )


def sessions(make: Callable[[], BaseChatMessageHistory]) -> Callable[[str], BaseChatMessageHistory]:
    """The tutorial's ``get_chat_history``: one history per session id, made on first use."""
    chat_map: dict[str, BaseChatMessageHistory] = {}

    def get_chat_history(session_id: str) -> BaseChatMessageHistory:
        if session_id not in chat_map:
            chat_map[session_id] = make()
        return chat_map[session_id]

    return get_chat_history


def window_pipeline(llm: ChatOpenAI) -> Any:
    """The tutorial's window pipeline, its ``k`` configurable per call next to the session id."""
    chat_map: dict[str, BufferWindowMessageHistory] = {}

    def get_chat_history(session_id: str, k: int = 4) -> BufferWindowMessageHistory:
        return chat_map.setdefault(session_id, BufferWindowMessageHistory(k=k))

    fields = [
        ConfigurableFieldSpec(id="session_id", annotation=str, name="Session ID", default="id_default"),
        ConfigurableFieldSpec(id="k", annotation=int, name="k", default=4),
    ]
    return with_history(llm, get_chat_history, history_factory_config=fields)


def in_memory() -> InMemoryChatMessageHistory:
    return InMemoryChatMessageHistory()
