"""The key rule is a file format: these golden keys must never change."""

from __future__ import annotations

import hashlib

import pytest

from llmtape.keys import canonical_json, file_name, key_material, normalize, request_key, url_query

CHAT = {
    "model": "gpt-4o",
    "messages": [{"role": "user", "content": "Which planet has rings? ¿Saturno?"}],
    "temperature": 0.7,
    "stream": True,
}


def test_golden_chat_key() -> None:
    assert request_key("POST", "/v1/chat/completions", CHAT) == (
        "9c5545395b4ab1ccebc02176ce3159f20a7d42f62eeae19f401240d9b42475a4"
    )


def test_golden_get_key_without_body() -> None:
    assert request_key("get", "/v1/models", None) == (
        "c6d868d8e2ea523d5f4156a651b08f9abb7d2a22b5565947f8c9143c2e1e97d6"
    )


def test_key_is_sha256_of_the_documented_canonical_json() -> None:
    material = (
        '{"body":{"messages":[{"content":"Which planet has rings? ¿Saturno?","role":"user"}],'
        '"model":"gpt-4o","stream":true,"temperature":0.7},"endpoint":"/v1/chat/completions","method":"POST"}'
    )
    assert canonical_json(key_material("POST", "/v1/chat/completions", CHAT)) == material
    assert request_key("POST", "/v1/chat/completions", CHAT) == hashlib.sha256(material.encode()).hexdigest()


def test_object_key_order_does_not_matter() -> None:
    reordered = dict(reversed(list(CHAT.items())))
    assert request_key("POST", "/v1/chat/completions", reordered) == request_key(
        "POST", "/v1/chat/completions", CHAT
    )


def test_floats_are_rounded_to_five_decimals() -> None:
    close = {**CHAT, "temperature": 0.7000000001}
    assert request_key("POST", "/e", close) == request_key("POST", "/e", CHAT)
    assert request_key("POST", "/e", {**CHAT, "temperature": 0.70001}) != request_key("POST", "/e", CHAT)
    assert normalize({"a": [1.123456789, {"b": 2.000004}], "c": 3}) == {"a": [1.12346, {"b": 2.0}], "c": 3}


@pytest.mark.parametrize(
    ("method", "endpoint", "body"),
    [
        ("GET", "/v1/chat/completions", CHAT),
        ("POST", "/chat/completions", CHAT),
        ("POST", "/v1/chat/completions", {**CHAT, "stream": False}),
        ("POST", "/v1/chat/completions", {**CHAT, "messages": [{"role": "user", "content": "x"}]}),
    ],
)
def test_any_change_of_method_path_or_body_changes_the_key(method: str, endpoint: str, body: object) -> None:
    assert request_key(method, endpoint, body) != request_key("POST", "/v1/chat/completions", CHAT)


def test_method_case_does_not_matter() -> None:
    assert request_key("post", "/v1/chat/completions", CHAT) == request_key(
        "POST", "/v1/chat/completions", CHAT
    )


def test_golden_per_test_key() -> None:
    # Per-test scope: the material gains "test": <node id>.
    material = '{"body":null,"endpoint":"/v1/models","method":"GET","test":"tests/test_a.py::test_one[x]"}'
    assert request_key("GET", "/v1/models", None, "tests/test_a.py::test_one[x]") == (
        hashlib.sha256(material.encode()).hexdigest()
    )
    assert request_key("GET", "/v1/models", None, "tests/test_a.py::test_one[x]") == (
        "cb808c72635f00810ab2fe28433c7a7cf5d153016cdbaafa229d0c068f638fbe"
    )


def test_repeats_of_a_request_get_numbered_files() -> None:
    assert [file_name("abc", n) for n in (1, 2, 3)] == ["abc", "abc.2", "abc.3"]


def test_golden_bodyless_key_with_query() -> None:
    # A request without a body is keyed by its query parameters too, sorted.
    query = url_query("https://api.openai.com/v1/models?limit=1&after=page2")
    material = (
        '{"body":null,"endpoint":"/v1/models","method":"GET","query":[["after","page2"],["limit","1"]]}'
    )
    assert canonical_json(key_material("GET", "/v1/models", None, query=query)) == material
    assert request_key("GET", "/v1/models", None, query=query) == (
        "bd4849a2621d0e87fbd5d9ca63543c4d76ccb08386b859ac19fe2e655a887dbe"
    )


def test_queries_that_differ_give_different_keys_in_any_order() -> None:
    def key(url: str) -> str:
        return request_key("GET", "/v1/models", None, query=url_query(url))

    assert key("http://h/v1/models?after=page2") != key("http://h/v1/models?limit=1")
    assert key("http://h/v1/models?limit=1&after=x") == key("http://h/v1/models?after=x&limit=1")


def test_credentials_and_api_version_stay_out_of_the_key() -> None:
    plain = request_key("GET", "/v1/models", None)
    assert url_query("http://h/v1/models?key=AIza123&api-version=2024-06-01&api_key=s") == []
    versioned = url_query("http://h/v1/models?api-version=1")
    assert request_key("GET", "/v1/models", None, query=versioned) == plain


def test_a_request_with_a_body_is_keyed_without_its_query() -> None:
    query = url_query("http://h/v1/chat/completions?trace=1&key=AIza123", bodyless=False)
    assert query == []
    assert request_key("POST", "/v1/chat/completions", CHAT, query=query) == request_key(
        "POST", "/v1/chat/completions", CHAT
    )


def test_golden_key_of_a_request_whose_query_chooses_the_wire_format() -> None:
    # Gemini answers ?alt=sse with events and the same request without it with a JSON array: two recordings.
    endpoint, body = "/v1beta/models/gemini-2.5-flash:streamGenerateContent", {"contents": []}
    url = f"https://generativelanguage.googleapis.com{endpoint}?alt=sse&key=AIza1"
    query = url_query(url, bodyless=False)
    assert query == [("alt", "sse")]
    material = (
        '{"body":{"contents":[]},"endpoint":"/v1beta/models/gemini-2.5-flash:streamGenerateContent",'
        '"method":"POST","query":[["alt","sse"]]}'
    )
    assert canonical_json(key_material("POST", endpoint, body, query=query)) == material
    assert request_key("POST", endpoint, body, query=query) == (
        "6a4bc89704a25ea36f61828784d97c7245199ca0e0680eda038fb0111cdce951"
    )
    assert request_key("POST", endpoint, body, query=query) != request_key("POST", endpoint, body)


def test_golden_key_of_a_file_batch_keys_its_file_ids_as_a_set() -> None:
    # upload_and_poll lists the ids in the order its concurrent uploads finish, which varies run to run.
    endpoint = "/v1/vector_stores/vs_1/file_batches"
    material = (
        '{"body":{"file_ids":["file-1","file-2"]},"endpoint":"/v1/vector_stores/vs_1/file_batches",'
        '"method":"POST"}'
    )
    for ids in (["file-1", "file-2"], ["file-2", "file-1"]):
        assert canonical_json(key_material("POST", endpoint, {"file_ids": ids})) == material
    assert (
        request_key("POST", endpoint, {"file_ids": ["file-2", "file-1"]})
        == hashlib.sha256(material.encode()).hexdigest()
    )
    # Only there: elsewhere a list's order is part of the request.
    other = key_material("POST", "/v1/chat/completions", {"file_ids": ["b", "a"]})
    assert other["body"] == {"file_ids": ["b", "a"]}
