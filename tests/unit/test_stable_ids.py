"""Stable ids: the ids and times providers make up per call become stand-ins derived from the recording's
key, the same whatever the real ones were, and the real ones go back out in the live requests."""

from __future__ import annotations

import copy
import itertools
import random
import re
import string
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from llmtape.format.recording import Recording, parse
from llmtape.stable_ids import Ids

ROOT = Path(__file__).parents[2]
RECORDINGS = ROOT / "recordings"
LLAMA_STACK = ROOT / "tests" / "data" / "llama-stack-recordings"
CASSETTES = ROOT / "tests" / "data" / "vcr-cassettes" / "pydantic-ai"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
BASE62 = string.ascii_letters + string.digits

# A streamed chat answer calling a tool, and the request that sends the tool's result back.
TOOL_STREAM, TOOL_RESULT = "ed8fb1d29139", "6363ed4890b3"
# The file-search scenario against the stateful stand-in, in the order the application made the calls.
POLLS = "b5bbbe38cc64ddbb77bdc1b2082ef36e4d30b402302e11ca40038abc4f1eb371"
RAG = [
    "dc2aad38437f",  # upload -> file-0001
    "19d623094afc",  # upload -> file-0002
    "354a0a75415d",  # upload -> file-0003
    "06af30ee0f0d",  # upload -> file-0004
    "a679bb5f79ab",  # vector store -> vs_0001
    "dbaaf4517f28",  # file batch -> vsfb_0001
    POLLS,
    f"{POLLS}.2",
    f"{POLLS}.3",
    "f4096485ea9a",  # response with file_search -> resp_0001
    "4d6bae0ef304",  # the response retrieved
]
TIME_KEYS = {"created", "created_at", "completed_at", "last_active_at", "createTime"}
OPAQUE_ID_KEYS = {"responseId"}  # ids of no recognisable shape (Gemini's: 23 characters of base64url)


def recorded(name: str, folder: Path = RECORDINGS) -> Recording:
    """A recording of llmtape's, or of llama-stack's (whose request and response parts are alike)."""
    exact = folder / f"{name}.json"
    (path,) = [exact] if exact.exists() else sorted(folder.glob(f"{name}*.json"))
    if folder == LLAMA_STACK:
        found: Recording = orjson.loads(path.read_bytes())
        return found
    return parse(path.read_bytes(), path)


def data_of(recording: Recording) -> list[Any]:
    body = recording["response"]["body"]
    return (
        [chunk["__data__"] for chunk in body] if recording["response"]["is_streaming"] else [body["__data__"]]
    )


def cassette_body(name: str) -> Any:
    return yaml.safe_load((CASSETTES / name).read_text())["interactions"][0]["response"]


def gemini_stream() -> list[Any]:
    events = cassette_body("test_google_model_stream.yaml")["body"]["string"].split("\r\n\r\n")
    return [orjson.loads(event.removeprefix("data: ")) for event in events if event]


def fed(ids: Ids, key: str, chunks: list[Any], headers: dict[str, str] | None = None) -> list[Any]:
    answer = ids.answer(key)
    out = [answer.data(chunk) for chunk in chunks]
    return [*out, answer.headers(headers)] if headers is not None else out


# Fresh ids, as a second recording of the same conversation would get -------------------------------

FRESH_TOKEN = re.compile(
    rf"{UUID}|\btooluse_[A-Za-z0-9_-]+|\b(?:chatcmpl-|call_|toolu_bdrk_|toolu_|msg_bdrk_|msg_|resp_|fs_|file-"
    r"|vsfb_|vs_|req_|rec-)[A-Za-z0-9]+|\b[0-9a-f]{32}\b"
)


class Fresh:
    """Gives every id and time of some answers a new random value, the same for the same old one."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seen: dict[Any, Any] = {}

    def id(self, prefix: str, length: int, alphabet: str = BASE62) -> str:
        return prefix + "".join(self.rng.choice(alphabet) for _ in range(length))

    def token(self, match: re.Match[str]) -> str:
        old = match[0]
        if old not in self.seen:
            self.seen[old] = self._like(old)
        return str(self.seen[old])

    def _like(self, old: str) -> str:
        if re.fullmatch(UUID, old):
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if re.fullmatch(r"[0-9a-f]{32}", old):
            return self.id("", 32, "0123456789abcdef")
        if old.startswith("tooluse_"):  # base64url, with a "-" or "_" in it half the time
            return self.id("tooluse_", 22, BASE62 + "-_")
        prefix, body = re.split(r"(?<=[-_])(?=[A-Za-z0-9]+$)", old)
        short = len(body) < 8  # the stand-in servers' sequential ids, made as long as a provider's
        alphabet = "0123456789abcdef" if re.fullmatch(r"[0-9a-f]+", body) and not short else BASE62
        return self.id(prefix, 24 if short else len(body), alphabet)

    def opaque(self, old: str) -> str:
        if old not in self.seen:
            self.seen[old] = self.id("", len(old), BASE62 + "-_")
        return str(self.seen[old])

    def time(self, old: Any) -> Any:
        if old not in self.seen:
            moment = self.rng.randrange(1_700_000_000, 1_900_000_000)
            if isinstance(old, str):
                self.seen[old] = datetime.fromtimestamp(moment).strftime("%Y-%m-%dT%H:%M:%S.") + old[20:]
            else:
                self.seen[old] = moment * 1000 if old >= 10**12 else moment
        return self.seen[old]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return FRESH_TOKEN.sub(self.token, value)
        if isinstance(value, list):
            return [self(item) for item in value]
        if isinstance(value, dict):
            return {key: self._field(key, item) for key, item in value.items()}
        return value

    def _field(self, key: str, value: Any) -> Any:
        if key in TIME_KEYS and isinstance(value, int | str) and value:
            return self.time(value)
        return self.opaque(value) if key in OPAQUE_ID_KEYS else self(value)


# Synthetic answers in the shapes the providers document, for those no recording here holds ------------


def anthropic_answers(fresh: Fresh) -> list[Any]:
    message, tool = fresh.id("msg_01", 22), fresh.id("toolu_01", 22)
    use = {"type": "tool_use", "id": tool, "name": "get_weather", "input": {"city": "Paris"}}
    whole = {"id": message, "type": "message", "role": "assistant", "model": "claude-3-5-sonnet-20241022"}
    whole |= {"content": [{"type": "text", "text": "Let me look."}, use], "stop_reason": "tool_use"}
    return [
        whole,
        {"type": "message_start", "message": {**whole, "content": [], "stop_reason": None}},
        {"type": "content_block_start", "index": 1, "content_block": {**use, "input": {}}},
        {"type": "message_stop"},
    ]


def bedrock_converse(fresh: Fresh) -> dict[str, Any]:
    use = {"toolUseId": fresh.id("tooluse_", 22, BASE62 + "-_"), "name": "lookup", "input": {"q": "x"}}
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": "I will look."}, {"toolUse": use}]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 5, "outputTokens": 9, "totalTokens": 14},
    }


def ollama_chat_stream(fresh: Fresh) -> list[Any]:
    start = fresh.rng.randrange(1_700_000_000, 1_900_000_000)
    return [
        {
            "model": "llama3.2",
            "created_at": datetime.fromtimestamp(start + at).strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{fresh.rng.randrange(10**9):09d}Z",
            "message": {"role": "assistant", "content": word},
            "done": word == "",
        }
        for at, word in enumerate(["Hello", " there", ""])
    ]


def conversations(seed: int) -> dict[str, list[tuple[str, list[Any], dict[str, str]]]]:
    """Answers of several tests, (key, data, headers) each, with fresh ids and times from ``seed``."""
    fresh = Fresh(seed)

    def answers(names: list[str], folder: Path = RECORDINGS) -> list[tuple[str, list[Any], dict[str, str]]]:
        recordings = [recorded(name, folder) for name in names]
        return [
            (n, fresh(data_of(r)), fresh(r["response"].get("headers", {})))
            for n, r in zip(names, recordings, strict=True)
        ]

    anthropic_headers = {"request-id": fresh.id("req_011C", 20), "content-type": "application/json"}
    bedrock_headers = {"x-amzn-requestid": str(uuid.UUID(int=fresh.rng.getrandbits(128), version=4))}
    cohere = cassette_body("test_request_simple_success_with_vcr.yaml")["parsed_body"]
    return {
        "openai tool call stream": answers([TOOL_STREAM, TOOL_RESULT]),
        "file search": answers(RAG),
        "llama-stack tool calls": answers(["9f85a7e3f0e3", "73c9287059db", "e78f71ce50cf"], LLAMA_STACK),
        "gemini": [
            ("gemini-stream", fresh(gemini_stream()), {}),
            ("gemini", [fresh(cassette_body("test_google_model.yaml")["parsed_body"])], {}),
        ],
        "cohere": [("cohere", [fresh(cohere)], {})],
        "anthropic": [("anthropic", anthropic_answers(fresh), anthropic_headers)],
        "bedrock": [("bedrock", [bedrock_converse(fresh)], bedrock_headers)],
        "ollama": [("ollama", ollama_chat_stream(fresh), {})],
    }


def replayed(answers: list[tuple[str, list[Any], dict[str, str]]]) -> list[list[Any]]:
    ids = Ids()
    return [fed(ids, key, chunks, headers) for key, chunks, headers in answers]


def made_up(value: Any) -> set[str]:
    """The ids and times in answers that the tests made fresh."""
    if isinstance(value, str):
        return set(FRESH_TOKEN.findall(value))
    if isinstance(value, dict):
        return {
            found
            for key, item in value.items()
            for found in ({str(item)} if item and key in TIME_KEYS | OPAQUE_ID_KEYS else made_up(item))
        }
    if isinstance(value, list | tuple):
        return {found for item in value for found in made_up(item)}
    return set()


@pytest.mark.parametrize("name", list(conversations(0)))
def test_the_same_answers_with_other_ids_give_the_same_bytes(name: str) -> None:
    # Given the answers of one test as two recordings would get them, their ids and times all different
    first, second = conversations(1)[name], conversations(2)[name]
    assert made_up(first)
    assert made_up(first).isdisjoint(made_up(second))
    # When each goes through a fresh Ids with the same keys, then the caller sees the same bytes
    assert orjson.dumps(replayed(first)) == orjson.dumps(replayed(second))


@pytest.mark.parametrize("name", list(conversations(0)))
def test_no_made_up_id_or_time_reaches_the_caller(name: str) -> None:
    answers = conversations(3)[name]
    seen = orjson.dumps(replayed(answers)).decode()
    assert made_up(answers)
    assert sorted(value for value in made_up(answers) if value in seen) == []


# What is an id, and what its stand-in looks like ------------------------------------------------------


def model_ids() -> list[str]:
    listed = [orjson.loads(path.read_bytes()) for path in sorted(LLAMA_STACK.glob("models-*.json"))]
    found = {entry["__data__"]["id"] for recording in listed for entry in recording["response"]["body"]}
    return [*sorted(found), "gpt-4o-mini-2024-07-18", "claude-3-5-sonnet-20241022", "text-embedding-3-small"]


def test_model_ids_are_never_taken_for_generated_ids() -> None:
    names = model_ids()
    assert len(names) > 100
    answer = Ids().answer("models")
    for name in names:
        for key in ("id", "model", "model_id", "modelId"):
            value = {key: name}
            assert answer.data(value) is value, (key, name)


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("system_fingerprint", "fp_44709d6fcb"),
        ("id", "resp_0001"),  # a stand-in server's sequential id: nothing to stabilise
        ("id", "paraphrase-multilingual"),
        ("id", "sentence-transformers/all-MiniLM-L6-v2"),
        ("id", "abcdefghijklmnopqrstuvwxyzabcdef"),  # letters of one case, no digit: a word, not a draw
        ("responseId", "not an id at all"),
        ("content", "call_" + "A1b2" * 6),  # only id-like keys are searched
        ("name", "chatcmpl-" + "0123456789abcdef" * 2),
    ],
)
def test_lookalikes_stay(key: str, text: str) -> None:
    value = {key: text, "usage": {"total_tokens": 3}}
    assert Ids().answer("k").data(value) is value


def stand_in_for(real: str, key: str = "id") -> str:
    (found,) = Ids().answer("shape").data([{key: real}])
    assert found[key] != real
    return str(found[key])


@pytest.mark.parametrize(
    ("prefix", "length", "alphabet"),
    [
        ("chatcmpl-", 29, BASE62),
        ("call_", 24, BASE62),
        ("call_", 8, string.ascii_lowercase + string.digits),  # Ollama's
        ("toolu_bdrk_", 24, BASE62),
        ("resp_", 48, "0123456789abcdef"),
        ("vsfb_", 32, "0123456789ABCDEF"),
        ("", 32, "0123456789abcdef"),
        ("cmpl-", 20, "0123456789"),
    ],
)
def test_a_stand_in_keeps_the_prefix_length_and_characters(prefix: str, length: int, alphabet: str) -> None:
    real = Fresh(length).id(prefix, length, alphabet)
    made = stand_in_for(real)
    assert made.startswith(prefix)
    assert len(made) == len(real)
    assert set(made[len(prefix) :]) <= set(alphabet)


@pytest.mark.parametrize(
    "real", [str(uuid.UUID(int=7**40, version=4)), "chatcmpl-" + str(uuid.UUID(int=3**70))]
)
def test_a_uuid_stays_a_uuid(real: str) -> None:
    made = stand_in_for(real)
    assert made[:-36] == real[:-36]
    assert re.fullmatch(UUID, made[-36:])


def test_the_elements_of_an_id_list_are_ids() -> None:
    fresh = Fresh(10)
    reals = [fresh.id("file-", 24), fresh.id("file-", 24)]
    out = Ids().answer("batch").data({"file_ids": reals, "fileIds": reals, "names": reals})
    assert len(set(out["file_ids"])) == 2
    assert set(out["file_ids"]).isdisjoint(reals)
    assert out["fileIds"] == out["names"] == out["file_ids"]  # a known id is replaced wherever it is


def test_base64url_ids_keep_their_prefix_and_alphabet() -> None:
    # Bedrock's toolUseId and Gemini's responseId: "-" and "_" fall anywhere, so they are drawn as well
    fresh = Fresh(9)
    for key, real in [
        ("toolUseId", fresh.id("tooluse_", 22, BASE62 + "-_")),
        ("responseId", fresh.id("", 23)),
    ]:
        made = stand_in_for(real, key)
        assert len(made) == len(real)
        assert made.startswith("tooluse_") == real.startswith("tooluse_")
        assert set(made) <= set(BASE62 + "-_")


# One test's calls: the same stand-in everywhere, the real id on the way out ---------------------------


def test_a_stream_repeats_one_stand_in_and_the_tool_call_has_its_own() -> None:
    chunks = data_of(recorded(TOOL_STREAM))
    out = fed(Ids(), TOOL_STREAM, chunks)
    real, (made,) = chunks[0]["id"], {chunk["id"] for chunk in out}
    assert made != real
    assert len(made) == len(real)
    assert made.startswith("chatcmpl-")
    assert len({chunk["created"] for chunk in out}) == 1
    assert {chunk["model"] for chunk in out} == {"smollm2-135m-instruct"}
    calls = [
        call["id"]
        for chunk in out
        for choice in chunk["choices"]
        for call in choice["delta"].get("tool_calls") or []
    ]
    assert calls
    assert made not in calls


def test_the_tool_result_goes_out_with_the_real_tool_call_id() -> None:
    # Given a streamed tool call that the caller saw with stand-ins
    ids = Ids()
    chunks = data_of(recorded(TOOL_STREAM))
    seen = fed(ids, TOOL_STREAM, chunks)
    real = next(
        call["id"] for chunk in chunks for call in chunk["choices"][0]["delta"].get("tool_calls") or []
    )
    made = next(call["id"] for chunk in seen for call in chunk["choices"][0]["delta"].get("tool_calls") or [])
    # When the caller sends the tool's result back, naming the call as it saw it
    live = orjson.dumps(recorded(TOOL_RESULT)["request"]["body"])
    assert real.encode() in live
    sent = live.replace(real.encode(), made.encode())
    # Then the live request carries the real id again, at the same length
    assert ids.outgoing(sent) == live
    assert len(sent) == len(live)


def test_the_file_search_flow_uses_its_stand_ins_throughout_and_sends_the_real_ids() -> None:
    # Given the calls of the file-search scenario, with ids as long as a provider's
    fresh = Fresh(5)
    recordings = [recorded(name) for name in RAG]
    answers = [fresh(data_of(recording))[0] for recording in recordings]
    real = {old: fresh.seen[old] for old in ("file-0001", "file-0002", "vs_0001", "vsfb_0001", "resp_0001")}
    ids = Ids()
    # When each answer goes through the test's Ids
    seen = [ids.answer(name).data(answer) for name, answer in zip(RAG, answers, strict=True)]
    files, store, batch, response = [s["id"] for s in seen[:4]], seen[4]["id"], seen[5]["id"], seen[9]
    # Then the ids handed out by one call are the ones later answers hold
    assert {s["vector_store_id"] for s in seen[5:9]} == {store}
    assert response["tools"][0]["vector_store_ids"] == [store]
    assert [r["file_id"] for r in response["output"][0]["results"]] == files[:3]
    assert [a["file_id"] for a in response["output"][1]["content"][0]["annotations"]] == files[:2]
    assert seen[10]["id"] == response["id"]
    assert real["file-0001"] not in orjson.dumps(seen).decode()
    # And what the caller sends with them reaches the server with the real ids
    poll_url = fresh(recordings[6]["request"]["url"])
    assert (
        ids.outgoing_url(poll_url.replace(real["vs_0001"], store).replace(real["vsfb_0001"], batch))
        == poll_url
    )
    batch_body = orjson.dumps(fresh(recordings[5]["request"]["body"]))
    sent = batch_body
    for old, made in zip(["file-0001", "file-0002", "file-0003", "file-0004"], files, strict=True):
        sent = sent.replace(fresh.seen[old].encode(), made.encode())
    assert sent != batch_body
    assert ids.outgoing(sent) == batch_body
    assert ids.outgoing_url(f"/v1/files/{files[0]}/content") == f"/v1/files/{real['file-0001']}/content"
    follow_up = orjson.dumps(
        {"model": "gpt-4o-mini", "previous_response_id": response["id"], "input": "More?"}
    )
    assert ids.outgoing(follow_up) == follow_up.replace(response["id"].encode(), real["resp_0001"].encode())


def test_outgoing_hands_back_the_very_object_when_it_holds_no_stand_in() -> None:
    ids = Ids()
    body, url = b'{"input": "hello"}', "http://127.0.0.1/v1/responses"
    assert ids.outgoing(body) is body
    assert ids.outgoing_url(url) is url
    ids.answer("k").data({"id": Fresh(1).id("resp_", 48, "0123456789abcdef")})
    assert ids.outgoing(body) is body
    assert ids.outgoing_url(url) is url


def test_ids_the_caller_sent_are_its_own_and_stay() -> None:
    # Given a request naming an id of the caller's (from its configuration, not from an answer)
    own = Fresh(2).id("asst_", 24)
    ids = Ids()
    sent = f"http://127.0.0.1/v1/assistants/{own}".encode()
    # Then the answers that hold it, this one and later ones, keep it as it is
    first = ids.answer("retrieve", sent=sent).data({"id": own, "object": "assistant"})
    later = ids.answer("list").data({"data": [{"id": own}], "first_id": own})
    assert first["id"] == own
    assert later == {"data": [{"id": own}], "first_id": own}


def test_two_answers_under_one_key_get_different_stand_ins() -> None:
    fresh, ids = Fresh(4), Ids()
    reals = [fresh.id("call_", 24), fresh.id("call_", 24)]
    made = [ids.answer("same").data({"id": real})["id"] for real in reals]
    assert made[0] != made[1]
    assert [ids.outgoing(m.encode()).decode() for m in made] == reals


def test_threads_share_one_set_of_stand_ins() -> None:
    fresh, ids = Fresh(6), Ids()
    reals = [[fresh.id("msg_", 24) for _ in range(20)] for _ in range(8)]
    made: dict[int, list[str]] = {}

    def record(worker: int) -> None:
        made[worker] = [
            ids.answer(f"{worker}-{n}").data({"id": real})["id"] for n, real in enumerate(reals[worker])
        ]

    threads = [threading.Thread(target=record, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [m for worker in range(8) for m in made[worker]]
    assert len(set(everything)) == 160
    assert ids.outgoing(" ".join(everything).encode()).decode() == " ".join(r for rs in reals for r in rs)


def test_the_answer_given_is_not_changed_and_unchanged_parts_are_kept() -> None:
    value = Fresh(7)(data_of(recorded(RAG[9]))[0])
    before = copy.deepcopy(value)
    out = Ids().answer("k").data(value)
    assert value == before
    assert out != value
    assert out["usage"] is value["usage"]
    assert out["output"][0]["results"][0]["attributes"] is value["output"][0]["results"][0]["attributes"]


# Headers ---------------------------------------------------------------------------------------------


def test_request_ids_in_headers_get_stand_ins_of_their_shape() -> None:
    fresh, ids = Fresh(8), Ids()
    file_id, request_id = fresh.id("file-", 24), fresh.id("req_011C", 20)
    headers = {
        "x-request-id": fresh.id("", 32, "0123456789abcdef"),
        "Request-Id": request_id,
        "location": f"/v1/files/{file_id}",
        "content-type": "application/json",
        "cf-ray": fresh.id("", 16, "0123456789abcdef") + "-SJC",
    }
    answer = ids.answer("k")
    body = answer.data({"id": file_id, "object": "file", "error": {"request_id": request_id}})
    out = answer.headers(headers)
    assert re.fullmatch(r"[0-9a-f]{32}", out["x-request-id"])
    assert out["x-request-id"] != headers["x-request-id"]
    assert out["Request-Id"] == body["error"]["request_id"] != request_id
    assert out["location"] == f"/v1/files/{body['id']}"
    assert out["content-type"] == "application/json"
    assert re.fullmatch(r"[A-Za-z0-9]{16}-[A-Za-z0-9]{3}", out["cf-ray"])
    assert out["cf-ray"] != headers["cf-ray"]
    untouched = {"content-type": "text/event-stream"}
    assert answer.headers(untouched) is untouched


# Times -----------------------------------------------------------------------------------------------


def test_times_keep_their_format() -> None:
    value = {
        "created": 1_795_307_904,
        "created_at": "2024-07-01T12:34:56.123456789Z",
        "createTime": "2025-03-04T05:06:07.5+02:00",
        "updateTime": "2025-03-04 05:06:07",
        "completed_at": 1_795_307_904_123,
        "expires_at": None,
        "started_at": 0,
        "cancelled_at": True,
    }
    out = Ids().answer("times").data(value)
    assert isinstance(out["created"], int)
    assert 10**9 <= out["created"] < 10**11
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000000Z", out["created_at"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.0\+02:00", out["createTime"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", out["updateTime"])
    assert out["completed_at"] % 1000 == 0
    assert 10**12 <= out["completed_at"] < 10**14
    assert (out["expires_at"], out["started_at"], out["cancelled_at"]) == (None, 0, True)
    assert all(out[key] != value[key] for key in ("created", "created_at", "createTime", "completed_at"))
    assert datetime.fromisoformat(out["createTime"]).timestamp() == out["created"] + 2
    assert datetime.fromtimestamp(out["created"], UTC).year in (2024, 2025)


def test_times_depend_on_the_key_only() -> None:
    value = {"created": 1_795_307_904}
    assert Ids().answer("a").data(value) == Ids().answer("a").data({"created": 1_700_000_000})
    assert Ids().answer("a").data(value) != Ids().answer("b").data(value)


def test_fields_that_happen_to_share_a_second_are_numbered_apart() -> None:
    # Given a response that finished in the second it started, and the same one a second slower
    quick = {"created_at": 1_800_000_000, "completed_at": 1_800_000_000}
    slow = {"created_at": 1_800_000_000, "completed_at": 1_800_000_001}
    # Then both give the same times, so recording again does not change the file
    assert Ids().answer("r").data(quick) == Ids().answer("r").data(slow)


def test_a_streams_times_advance_chunk_by_chunk() -> None:
    answer = Ids().answer("ollama")
    out = [answer.data(chunk) for chunk in ollama_chat_stream(Fresh(1))]
    assert all(re.fullmatch(r"[-\dT:]{19}\.0{9}Z", chunk["created_at"]) for chunk in out)
    moments = [datetime.strptime(chunk["created_at"][:19], "%Y-%m-%dT%H:%M:%S") for chunk in out]
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(moments)] == [1, 1]


def test_a_model_lists_entries_stay_as_they_are() -> None:
    (listed,) = [orjson.loads(path.read_bytes()) for path in LLAMA_STACK.glob("models-009*.json")]
    entries = [entry["__data__"] for entry in listed["response"]["body"]]
    answer = Ids().answer("models")
    assert all(answer.data(entry) is entry for entry in entries)


def test_the_random_padding_of_responses_stream_events_is_dropped() -> None:
    # OpenAI pads Responses stream events with random text of a random length (documented shape)
    event = {"type": "response.output_text.delta", "delta": "Hel", "obfuscation": "q8Zk2", "item_id": "msg_1"}
    answer = Ids().answer("key:1")
    assert answer.data(event) == {"type": "response.output_text.delta", "delta": "Hel", "item_id": "msg_1"}
    assert "obfuscation" in event  # the caller's object is left as it was


def test_what_the_model_wrote_into_a_tool_call_and_a_model_list_entry_keep_their_ids_and_times() -> None:
    # Documented shapes: an Anthropic tool_use block, an Ollama tool call (arguments as an object),
    # Anthropic's model list entry
    answer = Ids().answer("key:1")
    when = "2024-05-01T10:00:00Z"
    chosen = "ticket_8f3a9c2b1d4e5f60a7b8"
    tool_use = {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "input": {"created_at": when}}
    ollama = {"function": {"name": "open", "arguments": {"created_at": 1714557600, "ticket_id": chosen}}}
    model = {"type": "model", "id": "claude-sonnet-4-5-20250929", "created_at": "2025-09-29T00:00:00Z"}
    data = answer.data({"content": [tool_use], "tool_calls": [ollama], "models": [model]})
    assert data["content"][0]["id"] != tool_use["id"]  # the provider's own id is made stable
    assert data["content"][0]["input"] == {"created_at": when}
    assert data["tool_calls"][0] == ollama
    assert data["models"][0] == model
