"""llama-index's OpenAI LLM and embeddings (on openai 2.x and httpx), sync and async, streamed and not,
with tool calls and a FunctionAgent: recorded against the live server with the default endpoints, then
replayed with the server stopped and every socket refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ChatMessage, ChatResponse
from llama_index.core.tools import FunctionTool
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.openai import OpenAI

from tests.conftest import NetworkGuard, Server
from tests.e2e.roundtrip import round_trip

PROMPT = "What is the capital of France?"
CITED = "file-a1b2c3d4e5f6"


def knowledge_search(query: str) -> str:
    """Search the knowledge base."""
    return f"{CITED}: Paris is the capital of France (asked: {query})."


SEARCH = FunctionTool.from_defaults(fn=knowledge_search)


def llm(server: Server, **http_clients: Any) -> OpenAI:
    return OpenAI(
        model="gpt-4o-mini", api_base=server.base_url, api_key="test-key", max_retries=0, **http_clients
    )


def seen(response: ChatResponse) -> dict[str, Any]:
    """What an application reads from a chat response: the text, the tool calls, the completion id."""
    raw = response.raw
    identifier = raw.get("id") if isinstance(raw, dict) else getattr(raw, "id", None)
    calls = response.message.additional_kwargs.get("tool_calls") or []
    tool_calls = [(c.id, c.function.name, c.function.arguments) for c in calls]
    return {"text": response.message.content, "tool_calls": tool_calls, "id": identifier}


def chat(server: Server) -> dict[str, Any]:
    with httpx.Client() as client:
        return seen(llm(server, http_client=client).chat([ChatMessage(role="user", content=PROMPT)]))


def stream_chat(server: Server) -> dict[str, Any]:
    with httpx.Client() as client:
        stream = llm(server, http_client=client).stream_chat([ChatMessage(role="user", content=PROMPT)])
        responses = list(stream)
    return {**seen(responses[-1]), "deltas": [r.delta for r in responses]}


async def achat(server: Server) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        model = llm(server, async_http_client=client)
        return seen(await model.achat([ChatMessage(role="user", content=PROMPT)]))


async def astream_chat(server: Server) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        stream = await llm(server, async_http_client=client).astream_chat(
            [ChatMessage(role="user", content=PROMPT)]
        )
        responses = [response async for response in stream]
    return {**seen(responses[-1]), "deltas": [r.delta for r in responses]}


CHATS = {"chat": chat, "stream_chat": stream_chat, "achat": achat, "astream_chat": astream_chat}


@pytest.mark.parametrize("name", list(CHATS))
def test_chat(name: str, server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    recorded = round_trip(server, tmp_path, network, lambda: CHATS[name](server))
    assert recorded["text"] == f"You said: {PROMPT}. This conversation has 1 messages."
    assert recorded["id"].startswith("chatcmpl-")
    if "stream" in name:
        assert "".join(d or "" for d in recorded["deltas"]) == recorded["text"]


def chat_with_tools(server: Server) -> dict[str, Any]:
    with httpx.Client() as client:
        model = llm(server, http_client=client)
        response = model.chat_with_tools([SEARCH], user_msg=PROMPT)
        selections = model.get_tool_calls_from_response(response)
    return {**seen(response), "selected": [(s.tool_name, s.tool_kwargs) for s in selections]}


async def astream_chat_with_tools(server: Server) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        model = llm(server, async_http_client=client)
        stream = await model.astream_chat_with_tools([SEARCH], user_msg=PROMPT)
        responses = [response async for response in stream]
        selections = model.get_tool_calls_from_response(responses[-1])
    return {**seen(responses[-1]), "selected": [(s.tool_name, s.tool_kwargs) for s in selections]}


@pytest.mark.parametrize("call", [chat_with_tools, astream_chat_with_tools], ids=["sync", "async-stream"])
def test_chat_with_tools(call: Any, server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    recorded = round_trip(server, tmp_path, network, lambda: call(server))
    assert recorded["selected"] == [("knowledge_search", {"query": PROMPT})]
    [(call_id, name, arguments)] = recorded["tool_calls"]
    assert call_id.startswith("call_")
    assert (name, json.loads(arguments)) == ("knowledge_search", {"query": PROMPT})


def predict_and_call(server: Server) -> tuple[str, list[Any]]:
    with httpx.Client() as client:
        response = llm(server, http_client=client).predict_and_call([SEARCH], user_msg=PROMPT)
    return response.response, [(s.tool_name, s.raw_input["kwargs"], s.content) for s in response.sources]


def test_predict_and_call(server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    text, sources = round_trip(server, tmp_path, network, lambda: predict_and_call(server))
    assert text == knowledge_search(PROMPT)
    assert sources == [("knowledge_search", {"query": PROMPT}, text)]


async def agent_run(server: Server) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        agent = FunctionAgent(tools=[SEARCH], llm=llm(server, async_http_client=client))
        result = await agent.run(user_msg=PROMPT)
    calls = [(c.tool_name, c.tool_kwargs, c.tool_output.content) for c in result.tool_calls]
    return {"answer": str(result), "calls": calls}


# llama-index's workflow runtime reads every member of the agent, a pydantic model, deprecated ones too.
@pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecationWarning")
def test_function_agent(server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    # Two streamed calls: the model asks for the tool, then answers from its result, which it cites.
    recorded = round_trip(server, tmp_path, network, lambda: agent_run(server))
    assert recorded["calls"] == [("knowledge_search", {"query": PROMPT}, knowledge_search(PROMPT))]
    assert recorded["answer"].startswith("According to the search,")
    assert recorded["answer"].endswith(f"<|{CITED}|>")


def embed(server: Server) -> list[list[float]]:
    with httpx.Client() as client:
        model = OpenAIEmbedding(api_base=server.base_url, api_key="test-key", http_client=client)
        return [model.get_text_embedding("Paris"), model.get_query_embedding("capital")]


async def aembed(server: Server) -> list[list[float]]:
    async with httpx.AsyncClient() as client:
        model = OpenAIEmbedding(api_base=server.base_url, api_key="test-key", async_http_client=client)
        return await model.aget_text_embedding_batch(["Paris", "capital"])


@pytest.mark.parametrize("call", [embed, aembed], ids=["sync", "async"])
def test_embeddings(call: Any, server: Server, tmp_path: Path, network: NetworkGuard) -> None:
    recorded = round_trip(server, tmp_path, network, lambda: call(server))
    # The server's vector starts with len(text) / 10.
    assert recorded == [[0.5, 0.5, -0.25], [0.7, 0.5, -0.25]]
