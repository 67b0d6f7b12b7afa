"""A small OpenAI-compatible HTTP server, run as its own process on 127.0.0.1 by the tests.

It speaks the real wire format (the field set of gpt-4o chunks as recorded by llama-stack):
SSE with chunked transfer encoding for ``stream: true``, a ChatCompletion otherwise, tool
calls whose arguments arrive in pieces, and a fresh random id and timestamp on every call,
as live APIs do. Replies are deterministic functions of the request so tests can assert them.

    python -m tests.servers.openai_server [--port N]   # prints "PORT <n>" once listening
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

MODEL = "gpt-4o-2024-08-06"
FINGERPRINT = "fp_f64f290af2"


def reply_text(body: dict[str, Any]) -> str:
    """The assistant's answer: it quotes the last user message and counts the conversation."""
    messages = body.get("messages", [])
    if messages and messages[-1].get("role") == "tool":
        return f"According to the search, {_text(messages[-1])[:60]} <|{_cite(messages[-1])}|>"
    users = [m for m in messages if m.get("role") == "user"]
    last = _text(users[-1]) if users else ""
    return f"You said: {last}. This conversation has {len(messages)} messages."


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
    return json.dumps({"query": _text(body["messages"][-1])})


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


def stream_chunks(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The chunks of a streamed answer: role, content or tool-call pieces, finish, usage."""
    call_id, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    chunk = lambda choices: {**_base(call_id, created, "chat.completion.chunk"), "choices": choices}  # noqa: E731
    chunks = [chunk([_choice(_delta(content="", role="assistant"))])]
    if wants_tool(body):
        name = body["tools"][0]["function"]["name"]
        tool_id = f"call_{uuid.uuid4().hex[:24]}"
        first = {"index": 0, "id": tool_id, "function": {"arguments": "", "name": name}, "type": "function"}
        chunks.append(chunk([_choice(_delta(tool_calls=[first]))]))
        arguments = tool_arguments(body)
        for start in range(0, len(arguments), 7):
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
    chunks.append(chunk([_choice(_delta(), finish)]))
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
                },
            )
        self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        Handler.served += 1
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        if not self.headers.get("authorization", "").startswith("Bearer "):
            return self._json(
                401,
                {
                    "error": {
                        "message": "Missing API key",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
            )
        if self.route.endswith("/chat/completions"):
            if body.get("stream"):
                return self._stream(stream_chunks(body), hold="x-test-hold" in self.headers)
            return self._json(200, completion(body))
        if self.route.endswith("/embeddings"):
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

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
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

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
