"""Gemini/Vertex and Cohere recordings made by a real record run against the loopback server: how they are
stored (typed chunks, the JSON array framing, SSE event names, errors), replayed offline, and read by
``llmtape list``, ``show`` and ``diff``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import llmtape
from llmtape.cli import main
from tests.conftest import NetworkGuard, Server, start_server
from tests.e2e.roundtrip import round_trip

GEMINI = "/v1beta/models/gemini-2.0-flash"
VERTEX = "/v1beta1/projects/demo/locations/us-central1/publishers/google/models/gemini-2.0-flash"
GOOGLE_KEY = {"x-goog-api-key": "test-key"}
COHERE_KEY = {"authorization": "Bearer test-key"}
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}}
GEMINI_TOOLS = [{"functionDeclarations": [{"name": "get_weather", "parameters": WEATHER}]}]
COHERE_TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
GENERATE_CONTENT = "google.genai.types.GenerateContentResponse"


def turn(role: str, *parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": role, "parts": list(parts)}


def asked(text: str, **more: Any) -> dict[str, Any]:
    return {"contents": [turn("user", {"text": text})], **more}


TOOL_TURNS = {
    "contents": [
        turn("user", {"text": "Weather in Paris?"}),
        turn("model", {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}),
        turn("user", {"functionResponse": {"name": "get_weather", "response": {"celsius": 21}}}),
    ],
    "systemInstruction": {"parts": [{"text": "Answer in one sentence."}]},
    "tools": GEMINI_TOOLS,
}
COHERE_TURNS = [
    {"role": "system", "content": "You are brief."},
    {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
    {
        "role": "assistant",
        "tool_plan": "I will look it up.",
        "tool_calls": [
            {
                "id": "w1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "w1", "content": [{"type": "document", "document": {"data": "21 C"}}]},
]
COMMAND = "command-a-03-2025"

# Each call of the record run: whose key it sends, its URL path, its body, and whether it is read as a stream.
CALLS: dict[str, tuple[dict[str, str], str, dict[str, Any], bool]] = {
    "gemini_tool_turns": (GOOGLE_KEY, f"{GEMINI}:generateContent", TOOL_TURNS, False),
    "gemini_sse": (
        GOOGLE_KEY,
        f"{GEMINI}:streamGenerateContent?alt=sse",
        asked("Tell me about otters"),
        True,
    ),
    "gemini_array": (GOOGLE_KEY, f"{GEMINI}:streamGenerateContent", asked("Tell me about seals"), True),
    "vertex_array_call": (
        GOOGLE_KEY,
        f"{VERTEX}:streamGenerateContent",
        asked("Lyon", tools=GEMINI_TOOLS, systemInstruction={"parts": [{"text": "Use tools."}]}),
        True,
    ),
    "gemini_count": (GOOGLE_KEY, f"{GEMINI}:countTokens", asked("How many tokens is this"), False),
    "vertex_embed": (GOOGLE_KEY, f"{VERTEX}:embedContent", {"content": {"parts": [{"text": "a b"}]}}, False),
    "gemini_batch": (
        GOOGLE_KEY,
        f"{GEMINI}:batchEmbedContents",
        {"requests": [{"content": {"parts": [{"text": t}]}} for t in ("one", "two", "three")]},
        False,
    ),
    "gemini_missing": (GOOGLE_KEY, "/v1beta/models/missing-model:generateContent", asked("Hi"), False),
    "cohere_turns": (COHERE_KEY, "/v2/chat", {"model": COMMAND, "messages": COHERE_TURNS}, False),
    "cohere_stream": (
        COHERE_KEY,
        "/v2/chat",
        {"model": COMMAND, "messages": COHERE_TURNS, "stream": True},
        True,
    ),
    "cohere_tool_stream": (
        COHERE_KEY,
        "/v2/chat",
        {
            "model": COMMAND,
            "messages": [{"role": "user", "content": "Lyon"}],
            "tools": COHERE_TOOLS,
            "stream": True,
        },
        True,
    ),
    "cohere_embed": (
        COHERE_KEY,
        "/v2/embed",
        {
            "model": "embed-v4.0",
            "texts": ["a", "b c"],
            "input_type": "search_document",
            "embedding_types": ["float"],
        },
        False,
    ),
    "cohere_rerank": (
        COHERE_KEY,
        "/v2/rerank",
        {"model": "rerank-v3.5", "query": "sea otters", "documents": ["otters", "sea otters swim", "cats"]},
        False,
    ),
    "cohere_rerank_v1": (
        COHERE_KEY,
        "/v1/rerank",
        {"model": "rerank-v3.5", "query": "cats", "documents": ["dogs", "cats"], "return_documents": True},
        False,
    ),
    "cohere_no_messages": (COHERE_KEY, "/v2/chat", {"model": COMMAND, "messages": []}, False),
}


@dataclass
class Answer:
    """What the client received for one call, and the recording file it made."""

    status: int
    pieces: list[bytes]
    path: Path

    def json(self) -> Any:
        return json.loads(b"".join(self.pieces))

    def events(self) -> list[dict[str, Any]]:
        """The JSON of each SSE ``data:`` line."""
        text = b"".join(self.pieces).decode()
        return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]

    def stored(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.path.read_text())
        return data


def send(client: httpx.Client, name: str) -> tuple[int, list[bytes]]:
    headers, path, body, stream = CALLS[name]
    if not stream:
        answer = client.post(path, json=body, headers=headers)
        return answer.status_code, [answer.content]
    with client.stream("POST", path, json=body, headers=headers) as answer:
        return answer.status_code, list(answer.iter_bytes())


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Answer]:
    """Every call of ``CALLS`` recorded once by a real record run, with what its client received."""
    directory = tmp_path_factory.mktemp("providers") / "recordings"
    live = start_server()
    answers = {}
    try:
        with (
            llmtape.tape(directory, mode="record") as tape,
            httpx.Client(base_url=live.base_url[:-3]) as client,
        ):
            for name in CALLS:
                status, pieces = send(client, name)
                assert tape.calls[-1].outcome == llmtape.Outcome.RECORDED, name
                answers[name] = Answer(status, pieces, tape.calls[-1].path)
    finally:
        live.stop()
    assert len({answer.path for answer in answers.values()}) == len(CALLS)
    return answers


@pytest.fixture
def cli(recorded: dict[str, Answer], capsys: pytest.CaptureFixture[str]) -> Any:
    """Runs the llmtape command on the recordings and returns the lines it printed (it must exit 0)."""
    directory = str(next(iter(recorded.values())).path.parent)

    def run(*args: str) -> list[str]:
        code = main([args[0], "--dir", directory, *args[1:]])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert captured.err == ""
        return captured.out.splitlines()

    return run


def key(answer: Answer) -> str:
    return answer.path.name.removesuffix(".json")


# How they are stored and replayed ---------------------------------------------------------------------


def test_a_json_array_stream_is_stored_as_typed_elements(recorded: dict[str, Answer]) -> None:
    answer = recorded["gemini_array"]
    response = answer.stored()["response"]
    elements = answer.json()  # the pieces the client received make one valid JSON array
    assert response["headers"]["content-type"].startswith("application/json")
    assert response["is_streaming"] is True
    assert [chunk["__data__"] for chunk in response["body"]] == elements
    assert {chunk["__type__"] for chunk in response["body"]} == {GENERATE_CONTENT}
    assert "sse_done" not in response
    assert len(answer.pieces) == len(elements) + 1  # one piece per element, then the closing bracket
    assert len(elements) > 2


def test_gemini_sse_and_cohere_events_are_stored_typed_with_their_event_names(
    recorded: dict[str, Answer],
) -> None:
    gemini = recorded["gemini_sse"].stored()["response"]
    assert gemini["headers"]["content-type"] == "text/event-stream"
    assert {chunk["__type__"] for chunk in gemini["body"]} == {GENERATE_CONTENT}
    assert [chunk["__data__"] for chunk in gemini["body"]] == recorded["gemini_sse"].events()
    cohere = recorded["cohere_tool_stream"].stored()["response"]["body"]
    assert [chunk["__event__"] for chunk in cohere] == [chunk["__data__"]["type"] for chunk in cohere]
    assert [chunk["__event__"] for chunk in cohere][:2] == ["message-start", "tool-plan-delta"]
    assert "tool-call-delta" in [chunk["__event__"] for chunk in cohere]
    assert cohere[0]["__type__"] == "cohere.v2.types.v2chat_stream_response.MessageStartV2ChatStreamResponse"


def test_errors_are_stored_with_their_status_and_body(recorded: dict[str, Answer]) -> None:
    for name, status, message in [
        ("gemini_missing", 404, "models/missing-model is not found"),
        ("cohere_no_messages", 400, "invalid request: messages must contain at least one message."),
    ]:
        response = recorded[name].stored()["response"]
        assert (recorded[name].status, response["status"]) == (status, status)
        assert response["body"]["__type__"] == "json"
        assert message in json.dumps(response["body"]["__data__"])


SYNC_ASYNC = pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])


def streamed_call(server: Server, path: str, body: dict[str, Any], asynchronous: bool) -> Any:
    base = server.base_url[:-3]

    def sync() -> tuple[int, str, list[bytes]]:
        with (
            httpx.Client(base_url=base, headers=GOOGLE_KEY) as client,
            client.stream("POST", path, json=body) as r,
        ):
            return r.status_code, r.headers["content-type"], list(r.iter_bytes())

    async def asynchronous_() -> tuple[int, str, list[bytes]]:
        async with (
            httpx.AsyncClient(base_url=base, headers=GOOGLE_KEY) as client,
            client.stream("POST", path, json=body) as r,
        ):
            return r.status_code, r.headers["content-type"], [piece async for piece in r.aiter_bytes()]

    return asynchronous_ if asynchronous else sync


@SYNC_ASYNC
def test_a_json_array_stream_replays_element_by_element_offline(
    server: Server, tmp_path: Path, network: NetworkGuard, asynchronous: bool
) -> None:
    body = asked("Count the stars", generationConfig={"temperature": 0})
    call = streamed_call(server, f"{VERTEX}:streamGenerateContent", body, asynchronous)
    status, content_type, pieces = round_trip(server, tmp_path, network, call)
    elements = json.loads(b"".join(pieces))
    assert status == 200
    assert content_type.startswith("application/json")
    assert "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in elements).startswith(
        "You said:"
    )
    assert [piece[:1] for piece in pieces] == [b"[", *[b"\n"] * len(elements)]


def test_errors_replay_with_their_status_offline(
    server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    base = server.base_url[:-3]

    def call() -> list[tuple[int, Any]]:
        with httpx.Client(base_url=base) as client:
            # A stream request refused (no contents), one the server fails (503), Cohere's refusal.
            refused = client.post(
                f"{GEMINI}:streamGenerateContent", json={"contents": []}, headers=GOOGLE_KEY
            )
            failing = {**GOOGLE_KEY, "x-test-status": "503"}
            failed = client.post(f"{GEMINI}:generateContent", json=asked("Hi"), headers=failing)
            cohere = client.post("/v2/chat", json={"model": COMMAND, "messages": []}, headers=COHERE_KEY)
            return [(answer.status_code, answer.json()) for answer in (refused, failed, cohere)]

    (refused, refusal), (failed, failure), (cohere, message) = round_trip(server, tmp_path, network, call)
    assert (refused, refusal["error"]["status"]) == (400, "INVALID_ARGUMENT")
    assert (failed, failure["error"]["code"], failure["error"]["status"]) == (503, 503, "UNAVAILABLE")
    assert (cohere, message["message"]) == (
        400,
        "invalid request: messages must contain at least one message.",
    )


# list, show, diff -------------------------------------------------------------------------------------


def columns(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def test_list_has_a_row_for_every_gemini_and_cohere_recording(recorded: dict[str, Answer], cli: Any) -> None:
    lines = cli("list")
    assert columns(lines[0]) == ["KEY", "ENDPOINT", "MODEL", "BODY", "CHUNKS", "STATUS", "REPLY"]
    assert lines[-1] == f"{len(CALLS)} recordings"
    rows = {columns(line)[0]: columns(line)[1:] for line in lines[1:-1]}
    row = {name: rows[key(answer)[:12]] for name, answer in recorded.items()}
    chunks = str(len(recorded["gemini_array"].json()))
    assert row["gemini_array"][:5] == [
        f"{GEMINI}:streamGenerateContent",
        "gemini-2.0-flash",
        "stream",
        chunks,
        "200",
    ]
    assert row["gemini_array"][5].startswith("You said: Tell me about seals.")
    assert row["vertex_array_call"][1:5] == ["gemini-2.0-flash", "stream", "1", "200"]
    assert row["vertex_array_call"][5] == '-> get_weather({"city": "Lyon"})'
    assert row["gemini_tool_turns"][5] == 'The function get_weather returned {"celsius": 21…'  # cut at 48
    counted = f"{recorded['gemini_count'].json()['totalTokens']} tokens counted"
    assert row["gemini_count"][1:] == ["gemini-2.0-flash", "plain", "-", "200", counted]
    assert row["gemini_batch"][5] == "3 embedding(s) of dimension 4"
    assert row["vertex_embed"][5] == "1 embedding(s) of dimension 4"
    assert row["gemini_missing"][1:5] == ["missing-model", "plain", "-", "404"]
    assert row["gemini_missing"][5].startswith("HTTP 404: models/missing-model is not found")
    assert row["cohere_stream"][:4] == [
        "/v2/chat",
        COMMAND,
        "stream",
        str(len(recorded["cohere_stream"].events())),
    ]
    assert row["cohere_stream"][5] == row["cohere_turns"][5] == 'The tool said: "21 C"'
    assert row["cohere_embed"][1:] == [
        "embed-v4.0",
        "plain",
        "-",
        "200",
        "2 embedding(s) of dimension 4 (float)",
    ]
    assert row["cohere_rerank"][5] == "3 result(s): #1 1.000, #0 0.500, #2 0.000"
    assert row["cohere_rerank_v1"][0] == "/v1/rerank"
    assert cli("list", "--endpoint", ":countTokens")[-1] == "1 recordings"
    assert cli("list", "--model", COMMAND)[-1] == "4 recordings"


def test_show_reads_a_gemini_conversation_with_its_function_call(
    recorded: dict[str, Answer], cli: Any
) -> None:
    answer = recorded["gemini_tool_turns"]
    usage = answer.json()["usageMetadata"]
    lines = cli("show", key(answer)[:10])
    assert lines[1].endswith(f"{GEMINI}:generateContent  model 'gemini-2.0-flash'")
    assert lines[2:] == [
        "tools offered: get_weather",
        "",
        "system: Answer in one sentence.",
        "user: Weather in Paris?",
        'model: -> get_weather({"city": "Paris"})',
        'user: [get_weather] {"celsius": 21}',
        "",
        "reply (200, not streamed):",
        '  text: The function get_weather returned {"celsius": 21}.',
        "  finish: STOP",
        "  usage: "
        + json.dumps(
            {name: usage[name] for name in ("promptTokenCount", "candidatesTokenCount", "totalTokenCount")}
        ),
    ]


def test_show_puts_a_streamed_gemini_reply_together(recorded: dict[str, Answer], cli: Any) -> None:
    elements = recorded["gemini_array"].json()
    text = "".join(part["text"] for e in elements for part in e["candidates"][0]["content"]["parts"])
    lines = cli("show", key(recorded["gemini_array"]))
    assert f"reply (200, streamed, {len(elements)} chunks):" in lines
    assert f"  text: {text}" in lines
    assert "  finish: STOP" in lines
    vertex = cli("show", key(recorded["vertex_array_call"]))
    assert vertex[vertex.index("system: Use tools.") :] == [
        "system: Use tools.",
        "user: Lyon",
        "",
        "reply (200, streamed, 1 chunks):",
        '  tool call: get_weather({"city": "Lyon"})',
        "  finish: STOP",
        vertex[-1],
    ]
    assert vertex[-1].startswith('  usage: {"promptTokenCount": ')


def test_show_reads_a_cohere_conversation_and_its_streamed_tool_call(
    recorded: dict[str, Answer], cli: Any
) -> None:
    lines = cli("show", key(recorded["cohere_turns"]))
    assert lines[3:8] == [
        "system: You are brief.",
        "user: Weather in Paris?",
        "assistant: (plan) I will look it up.",
        '           -> get_weather({"city":"Paris"}) [w1]',
        "tool: [w1] 21 C",
    ]
    assert "  finish: COMPLETE" in lines
    events = recorded["cohere_tool_stream"].events()
    call = next(e["delta"]["message"]["tool_calls"] for e in events if e["type"] == "tool-call-start")
    usage = events[-1]["delta"]["usage"]
    streamed = cli("show", key(recorded["cohere_tool_stream"]))
    assert streamed[streamed.index(f"reply (200, streamed, {len(events)} chunks):") :] == [
        f"reply (200, streamed, {len(events)} chunks):",
        "  reasoning: I will use the get_weather tool to answer.",
        f'  tool call {call["id"]}: get_weather({{"city": "Lyon"}})',
        "  finish: TOOL_CALL",
        f"  usage: {json.dumps(usage)}",
    ]
    assert "tools offered: get_weather" in streamed


@pytest.mark.parametrize(
    ("name", "reply"),
    [
        ("gemini_batch", "  text: 3 embedding(s) of dimension 4"),
        ("cohere_embed", "  text: 2 embedding(s) of dimension 4 (float)"),
        ("cohere_rerank_v1", "  text: 2 result(s): #1 1.000, #0 0.000"),
        ("gemini_missing", "  HTTP 404: models/missing-model is not found for API version v1beta, or is not"),
        ("cohere_no_messages", "  HTTP 400: invalid request: messages must contain at least one message."),
    ],
)
def test_show_sums_up_counts_embeddings_rankings_and_errors(
    recorded: dict[str, Answer], cli: Any, name: str, reply: str
) -> None:
    lines = cli("show", key(recorded[name]))
    status = recorded[name].status
    assert lines[lines.index(f"reply ({status}, not streamed):") + 1].startswith(reply)


def test_diff_shows_what_differs_between_two_gemini_streams(recorded: dict[str, Answer], cli: Any) -> None:
    sse, array = recorded["gemini_sse"], recorded["gemini_array"]
    lines = cli("diff", key(sse), key(array))
    changes = lines[lines.index("request (A != B):") + 1 : lines.index("replies:") - 1]
    assert changes == [
        "  request.body.contents[0].parts[0].text: 'Tell me about otters' != 'Tell me about seals'"
    ]
    head = next(line for line in lines if line.startswith("  A reply"))
    assert re.fullmatch(
        r"  A reply \(200, streamed, \d+ chunks\):\s+\| B reply \(200, streamed, \d+ chunks\):", head
    )
    assert any(
        "text: You said: Tell me about otters" in line and "| B   text: You said: Tell me about seals" in line
        for line in lines
    )


def test_diff_sets_a_cohere_answer_beside_its_stream(recorded: dict[str, Answer], cli: Any) -> None:
    lines = cli("diff", key(recorded["cohere_turns"]), key(recorded["cohere_stream"]))
    assert "  request.body.stream: <missing> != True" in lines
    head = next(line for line in lines if line.startswith("  A reply"))
    assert re.fullmatch(r"  A reply \(200, not streamed\):\s+\| B reply \(200, streamed, \d+ chunks\):", head)
    assert any(
        line.startswith("  A   finish: COMPLETE") and line.endswith("| B   finish: COMPLETE")
        for line in lines
    )
