"""The edges of the wire: compressed request bodies, bytes that are not UTF-8, every SSE field."""

from __future__ import annotations

import json

from tests.plugin.conftest import Project

WIRE_TEST = r"""
import base64
import gzip
import json
import os

import httpx

BASE = os.environ["LLM_BASE_URL"]
HEADERS = {"authorization": "Bearer test-key", "content-type": "application/json"}


def body(content):
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": content}]}


def post(content, headers=(), path="/chat/completions"):
    with httpx.Client() as client:
        headers = {**HEADERS, **dict(headers)}
        request = client.build_request("POST", BASE + path, content=content, headers=headers)
        response = client.send(request, stream=True)
        try:
            return response, b"".join(response.iter_raw())
        finally:
            response.close()


def raw(content, data, content_type, path="/chat/completions"):
    headers = {"x-test-raw": base64.b64encode(data).decode(), "x-test-raw-type": content_type}
    return post(json.dumps(body(content)).encode(), headers, path)


def test_gzip_body():
    squeezed = gzip.compress(json.dumps(body("squeezed")).encode())
    response, content = post(squeezed, {"content-encoding": "gzip"})
    assert response.status_code == 200
    assert json.loads(content)["choices"][0]["message"]["content"].startswith("You said: squeezed")


def test_same_body_plain():
    response, content = post(json.dumps(body("squeezed")).encode())
    assert json.loads(content)["choices"][0]["message"]["content"].startswith("You said: squeezed")


LATIN1 = b'{"text": "caf\xe9"}'


def test_latin1_body():
    response, content = raw("latin-1", LATIN1, "application/json; charset=latin-1")
    assert content == LATIN1
    assert content.decode(response.charset_encoding) == '{"text": "caf\u00e9"}'


STREAM = (
    b'data: {"a":"ok"}\n\n'
    b"data: caf\xe9 \xff\xfe\n\n"
    b'id: 7\nretry: 3000\ndata: {"b":2}\n\n'
    b'event: delta\nid: 8\ndata: {"c":"\xe2\x9c\x93"}\n\n'
    b"id: 9\ndata: [DONE]\n\n"
)


def test_stream_bytes():
    response, content = raw("stream", STREAM, "text/event-stream")
    assert content == STREAM


LINES = b'{"message":{"content":"caf\xe9"}}\n{"done":true}\n'


def test_ndjson_bytes():
    response, content = raw("ndjson", LINES, "application/x-ndjson", path="/../api/chat")
    assert content == LINES
"""


def test_a_compressed_request_body_is_keyed_decoded_and_sent_as_the_client_encoded_it(
    project: Project,
) -> None:
    project.pytester.makepyfile(test_wire=WIRE_TEST)
    tests = ["test_wire.py::test_gzip_body", "test_wire.py::test_same_body_plain"]
    # Live: the server, which decodes gzip, got the client's compressed bytes
    project.pytester.runpytest("--llmtape-mode=live", *tests).assert_outcomes(passed=2)
    # Record: one recording, whose stored body is the decoded JSON; the plain twin replays it
    recorded = project.pytester.runpytest("--record", *tests)
    recorded.assert_outcomes(passed=2)
    recorded.stdout.fnmatch_lines(["llmtape: 1 replayed, 1 recorded, 0 missing"])
    (recording,) = project.files()
    assert recording["request"]["body"]["messages"][0]["content"] == "squeezed"  # type: ignore[index]
    # Replay
    served = project.server.served()
    project.pytester.runpytest(*tests).stdout.fnmatch_lines(["llmtape: 2 replayed, 0 recorded, 0 missing"])
    assert project.server.served() == served


def untimed(chunk: dict[str, object]) -> dict[str, object]:
    """A stored chunk without the time it arrived."""
    return {k: v for k, v in chunk.items() if k != "__ms__"}


def test_bytes_that_are_not_utf8_are_stored_losslessly_and_replayed_byte_for_byte(project: Project) -> None:
    project.pytester.makepyfile(test_wire=WIRE_TEST)
    tests = [f"test_wire.py::test_{name}" for name in ("latin1_body", "stream_bytes", "ndjson_bytes")]
    # What the caller gets while recording is the server's bytes
    project.pytester.runpytest("--record", *tests).assert_outcomes(passed=3)
    bodies = {str(r["request"]["body"]["messages"][0]["content"]): r["response"] for r in project.files()}  # type: ignore[index]
    assert bodies["latin-1"]["body"] == {  # type: ignore[index]
        "__type__": "bytes",
        "__data__": '{"text": "caf\u00e9"}',  # the bytes, read one character per byte
    }
    stream = [untimed(chunk) for chunk in bodies["stream"]["body"]]  # type: ignore[attr-defined]
    assert stream[1] == {"__type__": "bytes", "__data__": "caf\u00e9 \u00ff\u00fe"}
    assert json.loads(json.dumps(stream[0])) == {"__type__": "json", "__data__": {"a": "ok"}}
    # Replay gives the same bytes again
    project.pytester.runpytest(*tests).stdout.fnmatch_lines(["llmtape: 3 replayed, 0 recorded, 0 missing"])


def test_sse_id_and_retry_fields_are_kept(project: Project) -> None:
    project.pytester.makepyfile(test_wire=WIRE_TEST)
    project.pytester.runpytest("--record", "test_wire.py::test_stream_bytes").assert_outcomes(passed=1)
    (recording,) = project.files()
    chunks = [untimed(chunk) for chunk in recording["response"]["body"]]  # type: ignore[index]
    assert {k: v for k, v in chunks[2].items() if k != "__data__"} == {
        "__type__": "json",
        "__id__": "7",
        "__retry__": "3000",
    }
    assert (chunks[3]["__event__"], chunks[3]["__id__"]) == ("delta", "8")
    assert chunks[4] == {"__type__": "text", "__data__": "[DONE]", "__id__": "9"}
    project.pytester.runpytest("test_wire.py::test_stream_bytes").assert_outcomes(passed=1)
