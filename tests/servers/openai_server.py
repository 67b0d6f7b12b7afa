"""A small LLM API server, run as its own process on 127.0.0.1 by the tests.

It speaks the documented wire formats: OpenAI chat completions (the field set of gpt-4o chunks
as recorded by llama-stack), legacy completions, embeddings, models and the Responses API;
Anthropic Messages; Ollama's native NDJSON API. Streams go out with chunked transfer encoding,
ids and timestamps are fresh on every call, as live APIs do, and replies are deterministic
functions of the request so tests can assert them.

Test hooks, by request header: ``x-test-status: N`` answers with that error status;
``x-test-break-after: N`` drops the connection after N events of a stream; ``x-test-encoding: gzip|br``
compresses a whole answer; ``x-test-size: N`` makes a whole chat answer N characters long;
``x-test-fail-first: N`` answers the first request with a given body with status N (and
``retry-after: 0``), later ones normally; ``x-test-hold`` pauses a stream (see Handler);
``x-test-delay-ms: H,G`` waits H ms before answering and G ms before each piece of a stream;
``x-test-raw: BASE64`` answers with exactly those bytes, typed ``x-test-raw-type`` (a stream type is
sent in pieces of 3 bytes). A request body compressed with gzip, deflate or br (``content-encoding``)
is decoded first.
A POST to ``/moved/<path>`` is redirected (307) to ``/<path>``.
Gemini (Google AI, Vertex AI) and Cohere routes are served by ``tests/servers/gemini_cohere.py``.

    python -m tests.servers.openai_server [--port N] [--tls CERT KEY] [--variant text|tools]
    # prints "PORT <n>" once listening; --variant: answers reworded, or tool calls with another argument
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import ssl
import sys
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

import brotli

from tests.servers import gemini_cohere, wire

MODEL = "gpt-4o-2024-08-06"
FINGERPRINT = "fp_f64f290af2"


def reply_text(body: dict[str, Any]) -> str:
    """The assistant's answer: it quotes the last user message and counts the conversation."""
    messages = body.get("messages", [])
    if messages and messages[-1].get("role") == "tool":
        return wire.worded(f"According to the search, {_text(messages[-1])[:60]} <|{_cite(messages[-1])}|>")
    users = [m for m in messages if m.get("role") == "user"]
    last = _text(users[-1]) if users else ""
    return wire.worded(f"You said: {last}. This conversation has {len(messages)} messages.")


def _text(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content)
    return str(content)


def _cite(message: dict[str, Any]) -> str:
    text = _text(message)
    start = text.find("file-")
    return text[start : start + 17] if start >= 0 else "file-unknown"


def wants_tool(body: dict[str, Any]) -> bool:
    messages = body.get("messages", [])
    return bool(body.get("tools")) and bool(messages) and messages[-1].get("role") == "user"


def tool_arguments(body: dict[str, Any]) -> str:
    return json.dumps(wire.argued({"query": _text(body["messages"][-1])}))


def _base(call_id: str, created: int, kind: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "choices": [],
        "created": created,
        "model": MODEL,
        "object": kind,
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
        "usage": None,
    }


def _delta(**fields: Any) -> dict[str, Any]:
    delta = {"content": None, "function_call": None, "refusal": None, "role": None, "tool_calls": None}
    return {**delta, **fields}


def _choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"delta": delta, "finish_reason": finish, "index": 0, "logprobs": None}


def _usage(body: dict[str, Any], completion: int) -> dict[str, int]:
    prompt = sum(len(_text(m).split()) for m in body.get("messages", []))
    return {"completion_tokens": completion, "prompt_tokens": prompt, "total_tokens": prompt + completion}


def mistral(body: dict[str, Any]) -> bool:
    """A request for a Mistral model: its stream sends each tool call whole, in one chunk (OpenAI sends the
    arguments in pieces), and the usage with the chunk that finishes the answer."""
    return str(body.get("model", "")).startswith("mistral")


def stream_chunks(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The chunks of a streamed answer: role, content or tool-call pieces, finish, usage."""
    call_id, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    chunk = lambda choices: {**_base(call_id, created, "chat.completion.chunk"), "choices": choices}  # noqa: E731
    chunks = [chunk([_choice(_delta(content="", role="assistant"))])]
    if wants_tool(body):
        name = body["tools"][0]["function"]["name"]
        tool_id = f"call_{uuid.uuid4().hex[:24]}"
        arguments = tool_arguments(body)
        whole = mistral(body)
        opened = {"arguments": arguments if whole else "", "name": name}
        first = {"index": 0, "id": tool_id, "function": opened, "type": "function"}
        chunks.append(chunk([_choice(_delta(tool_calls=[first]))]))
        for start in range(0, 0 if whole else len(arguments), 7):
            piece = {
                "index": 0,
                "id": None,
                "function": {"arguments": arguments[start : start + 7], "name": None},
                "type": None,
            }
            chunks.append(chunk([_choice(_delta(tool_calls=[piece]))]))
        finish, pieces = "tool_calls", max(1, len(arguments) // 7)
    else:
        words = reply_text(body).split(" ")
        for index, word in enumerate(words):
            chunks.append(chunk([_choice(_delta(content=word if index == 0 else " " + word))]))
        finish, pieces = "stop", len(words)
    finished = chunk([_choice(_delta(), finish)])
    if mistral(body):
        finished["usage"] = _usage(body, pieces)
    chunks.append(finished)
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append({**chunk([]), "usage": _usage(body, pieces)})
    return chunks


def completion(body: dict[str, Any]) -> dict[str, Any]:
    """A whole (non-streamed) ChatCompletion."""
    message: dict[str, Any] = {
        "content": None,
        "refusal": None,
        "role": "assistant",
        "annotations": [],
        "audio": None,
        "function_call": None,
        "tool_calls": None,
    }
    if wants_tool(body):
        name = body["tools"][0]["function"]["name"]
        message["tool_calls"] = [
            {
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "function": {"arguments": tool_arguments(body), "name": name},
                "type": "function",
            }
        ]
        finish = "tool_calls"
    else:
        message["content"], finish = reply_text(body), "stop"
    result = _base(f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time()), "chat.completion")
    result["choices"] = [{"finish_reason": finish, "index": 0, "logprobs": None, "message": message}]
    result["usage"] = _usage(body, 12)
    return result


def _decoded(raw: bytes, encoding: str) -> bytes:
    decoders = {"gzip": gzip.decompress, "deflate": zlib.decompress, "br": brotli.decompress}
    for coding in reversed([c.strip() for c in encoding.split(",") if c.strip()]):
        raw = decoders[coding](raw)
    return raw


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    served = 0
    # With the request header `x-test-hold`, a stream pauses after its first event until
    # GET /release; `held` tells whether the release came while the stream was paused.
    release = threading.Event()
    held: bool | None = None

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"openai_server: {format % args}\n")

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    def pause(self, first: bool = False) -> None:
        """With the request header ``x-test-delay-ms: H,G``: wait H ms before the status line, G ms before
        each piece of a stream, as a model thinks and then streams."""
        delays = self.headers.get("x-test-delay-ms") if self.headers else None
        if delays:
            before, _, between = delays.partition(",")
            time.sleep(int(before if first else between or 0) / 1000)

    def send_response(self, code: int, message: str | None = None) -> None:
        self.pause(first=True)
        super().send_response(code, message)

    def do_GET(self) -> None:
        if self.route == "/stats":
            return self._json(200, {"served": Handler.served, "held": Handler.held})
        if self.route == "/release":
            Handler.release.set()
            return self._json(200, {})
        Handler.served += 1
        if self.route.endswith("/models"):
            return self._json(
                200,
                {
                    "object": "list",
                    "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "system"}],
                    "query": urlsplit(self.path).query,  # which page was asked for
                },
            )
        self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

    failed_once: ClassVar[set[str]] = set()

    def do_POST(self) -> None:
        Handler.served += 1
        raw = self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}"
        body = json.loads(_decoded(raw, self.headers.get("content-encoding", "")))
        if "x-test-raw" in self.headers:
            return self._raw(base64.b64decode(self.headers["x-test-raw"]), self.headers["x-test-raw-type"])
        route = self.route
        if route.startswith("/moved/"):
            return self._json(307, {}, {"location": route.removeprefix("/moved")})
        if gemini_cohere.handles(self.path):  # Gemini and Cohere check their own keys, in their own shapes
            return gemini_cohere.answer(self, body, self._injected_status(route, raw))
        anthropic = route.endswith("/messages")
        if not route.startswith("/api/") and not self._authorized(anthropic):
            return self._error(401, "Missing API key", anthropic)
        status = self._injected_status(route, raw)
        if status:
            return self._error(status, f"injected status {status}", anthropic, retry_after="0")
        if route.endswith("/chat/completions"):
            if body.get("stream"):
                chunks = stream_chunks(body)
                if "x-test-break-after" in self.headers:
                    return self._broken(chunks[: int(self.headers["x-test-break-after"])])
                return self._stream(chunks, hold="x-test-hold" in self.headers)
            answer = completion(body)
            if "x-test-size" in self.headers:
                size = int(self.headers["x-test-size"])
                unit = "Ünïcödé ✓ 🦦 "
                answer["choices"][0]["message"]["content"] = (unit * (size // len(unit) + 1))[:size]
            return self._json(200, answer)
        if anthropic:
            return (
                self._events(wire.anthropic_stream(body))
                if body.get("stream")
                else self._json(200, wire.anthropic_message(body))
            )
        if route.endswith("/responses"):
            return (
                self._events(wire.responses_stream(body))
                if body.get("stream")
                else self._json(200, wire.responses_object(body))
            )
        if route.endswith("/completions"):
            if body.get("stream"):
                return self._stream(wire.completion_chunks(body))
            return self._json(200, wire.completion_object(body))
        if route in ("/api/chat", "/api/generate"):
            lines = wire.ollama_chat(body) if route == "/api/chat" else wire.ollama_generate(body)
            if body.get("stream", True) is False:
                return self._json(200, lines[0])
            return self._ndjson(lines)
        if route == "/api/embed":
            return self._json(200, wire.ollama_embed(body))
        if route.endswith("/embeddings"):
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = [
                {"object": "embedding", "index": i, "embedding": [len(t) / 10, 0.5, -0.25]}
                for i, t in enumerate(inputs)
            ]
            return self._json(
                200,
                {
                    "object": "list",
                    "data": data,
                    "model": body.get("model"),
                    "usage": {"prompt_tokens": 3, "total_tokens": 3},
                },
            )
        self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

    def _authorized(self, anthropic: bool) -> bool:
        bearer = self.headers.get("authorization", "").startswith("Bearer ")
        return bearer or (anthropic and bool(self.headers.get("x-api-key")))

    def _injected_status(self, route: str, raw: bytes) -> int:
        if "x-test-status" in self.headers:
            return int(self.headers["x-test-status"])
        if "x-test-fail-first" in self.headers:
            seen = f"{route} {raw!r}"
            if seen not in Handler.failed_once:
                Handler.failed_once.add(seen)
                return int(self.headers["x-test-fail-first"])
        return 0

    def _error(self, status: int, message: str, anthropic: bool, retry_after: str | None = None) -> None:
        kinds = {
            400: "invalid_request_error",
            401: "authentication_error",
            404: "not_found_error",
            429: "rate_limit_error",
            500: "api_error",
            503: "overloaded_error",
        }
        kind = kinds.get(status, "api_error")
        payload: dict[str, Any] = {"error": {"message": message, "type": kind, "code": None, "param": None}}
        if anthropic:
            payload = {"type": "error", "error": {"type": kind, "message": message}}
        self._json(status, payload, {"retry-after": retry_after} if retry_after else {})

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        encoding = self.headers.get("x-test-encoding")
        if encoding:
            data = gzip.compress(data) if encoding == "gzip" else brotli.compress(data)
            headers = {**(headers or {}), "content-encoding": encoding}
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex}")
        self.send_header("openai-organization", "org-private-do-not-store")
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, chunks: list[dict[str, Any]], hold: bool = False) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("set-cookie", "session=private-do-not-store")
        self.end_headers()
        for index, chunk in enumerate(chunks):
            self._write_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
            if hold and index == 0:
                Handler.held = Handler.release.wait(timeout=5)
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _broken(self, chunks: list[dict[str, Any]]) -> None:
        """Start a stream, then drop the connection without ending it."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for chunk in chunks:
            self._write_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
        self.close_connection = True

    def _events(self, events: list[bytes]) -> None:
        """A stream of ready-made SSE events, with no [DONE] (Anthropic, Responses)."""
        self._send_stream("text/event-stream; charset=utf-8", events)

    def _ndjson(self, lines: list[dict[str, Any]]) -> None:
        self._send_stream("application/x-ndjson", [(json.dumps(line) + "\n").encode() for line in lines])

    def _send_stream(self, content_type: str, pieces: list[bytes]) -> None:
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for piece in pieces:
            self._write_chunk(piece)
        self._write_chunk(b"")

    def _raw(self, data: bytes, content_type: str) -> None:
        if content_type.startswith("text/event-stream") or "ndjson" in content_type:
            # Small pieces, so a multi-byte character or a line end arrives cut in two.
            return self._send_stream(content_type, [data[i : i + 3] for i in range(0, len(data), 3)])
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _write_chunk(self, data: bytes) -> None:
        if data:
            self.pause()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve HTTPS with this certificate")
    parser.add_argument("--variant", default="", choices=["", "text", "tools"], help="answers that drifted")
    args = parser.parse_args()
    wire.VARIANT = args.variant
    ThreadingHTTPServer.request_queue_size = 1024  # bursts of hundreds of concurrent streams
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*args.tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
