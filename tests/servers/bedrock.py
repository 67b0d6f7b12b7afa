"""A stand-in for AWS Bedrock's runtime API (``bedrock-runtime``), run as its own process on 127.0.0.1 by the
tests. It speaks the REST API as botocore calls it, model ids URL-encoded in the path (``%3A`` for ``:``):

- ``POST /model/{modelId}/converse``: a Converse response (``output.message``, ``stopReason``, ``usage``,
  ``metrics``). With a ``toolConfig`` and a user turn last, the answer is a text block and a ``toolUse``
  block (stop reason ``tool_use``); after a ``toolResult`` it is text that quotes the result.
- ``POST /model/{modelId}/converse-stream``: the same answer as ``application/vnd.amazon.eventstream``
  messages: ``messageStart``, ``contentBlockStart`` (tool use only), ``contentBlockDelta`` (a word of text,
  or a piece of the tool input's JSON, each), ``contentBlockStop``, ``messageStop``, ``metadata``.
- ``POST /model/{modelId}/invoke``: an Anthropic Messages body in and out (``anthropic_version``
  ``bedrock-2023-05-31``), with the ``X-Amzn-Bedrock-Input-Token-Count`` / ``-Output-Token-Count`` headers.
- ``POST /model/{modelId}/invoke-with-response-stream``: the Anthropic stream events, each the base64
  ``bytes`` of a ``chunk`` event-stream message.

Streams go out in chunked transfer encoding, one HTTP chunk per message, except that the first message is
cut in two inside its prelude, so a reader has to carry bytes over from one chunk to the next. Event
payloads carry the ``"p"`` padding field the live service adds. Ids, dates and latencies are fresh on
every call; texts are deterministic functions of the request.

Requests are checked for a SigV4 signature's shape, never verified: an ``Authorization`` that starts with
``AWS4-HMAC-SHA256 Credential=`` and an ``X-Amz-Date`` (with ``--require-session-token``, an
``X-Amz-Security-Token`` too), else 403 ``UnrecognizedClientException``. Errors are rest-json: a
``{"message"}`` body and the code in ``x-amzn-ErrorType``. A request whose body holds ``[throttle]`` gets
429 ``ThrottlingException``, ``[invalid]`` 400 ``ValidationException``; a ``converse-stream`` holding
``[break]`` sends a few events, then a ``modelStreamErrorException`` message; an
``invoke-with-response-stream`` holding ``[spaced]`` writes its events' JSON with spaces after ``,``
and ``:``.

    python -m tests.servers.bedrock [--port N] [--require-session-token]   # prints "PORT <n>" once listening
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import struct
import sys
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from tests.servers.wire import anthropic_reply, words

ROUTE = re.compile(
    r"/model/(?P<model>[^/]+)/(?P<operation>converse(?:-stream)?|invoke(?:-with-response-stream)?)"
)
EVENTSTREAM = "application/vnd.amazon.eventstream"
PADDING = "abcdefgh"
ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"
TRIGGERS = {
    b"[throttle]": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    b"[invalid]": (400, "ValidationException", "Malformed input request, please reformat your input."),
}


# Event-stream framing ---------------------------------------------------------------------------


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude (total and headers length, their CRC32), string headers, payload,
    and the CRC32 of all before it."""
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    prelude = struct.pack(">II", 16 + len(encoded) + len(payload), len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def _header(name: str, value: str) -> bytes:
    label, text = name.encode(), value.encode()
    return bytes([len(label)]) + label + b"\x07" + struct.pack(">H", len(text)) + text


def _compact(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def event(kind: str, payload: dict[str, Any]) -> bytes:
    """An event message of type ``kind`` with a JSON payload (padded, as the live service pads them)."""
    headers = {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}
    return frame(headers, _compact({**payload, "p": PADDING}))


def exception(kind: str, message: str) -> bytes:
    headers = {":exception-type": kind, ":content-type": "application/json", ":message-type": "exception"}
    return frame(headers, _compact({"message": message}))


# Converse ---------------------------------------------------------------------------------------


def _fresh(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def _texts(message: dict[str, Any]) -> str:
    return " ".join(block["text"] for block in message.get("content", []) if "text" in block)


def _tool_result(message: dict[str, Any]) -> str | None:
    for block in message.get("content", []):
        if "toolResult" in block:
            parts = block["toolResult"].get("content", [])
            return " ".join(json.dumps(p["json"]) if "json" in p else p.get("text", "") for p in parts)
    return None


def converse_blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The content blocks of the answer: text, or text and a ``toolUse`` when a tool is wanted."""
    messages = body.get("messages", [])
    last = messages[-1] if messages else {}
    result = _tool_result(last)
    if result is not None:
        return [{"text": f"The tool said: {result}"}]
    tools = [
        tool["toolSpec"] for tool in (body.get("toolConfig") or {}).get("tools", []) if "toolSpec" in tool
    ]
    said = _texts(last)
    if tools and last.get("role") == "user":
        spec = tools[0]
        properties = ((spec.get("inputSchema") or {}).get("json") or {}).get("properties") or {"query": {}}
        use = {"toolUseId": _fresh("tooluse_"), "name": spec["name"], "input": {next(iter(properties)): said}}
        return [{"text": f"I will use {spec['name']}."}, {"toolUse": use}]
    return [{"text": f"You said: {said}. This conversation has {len(messages)} messages."}]


def _usage(body: dict[str, Any], blocks: list[dict[str, Any]]) -> dict[str, int]:
    prompt = sum(len(_texts(message).split()) for message in body.get("messages", []))
    output = sum(len(block["text"].split()) if "text" in block else 5 for block in blocks)
    return {"inputTokens": prompt, "outputTokens": output, "totalTokens": prompt + output}


def _stop_reason(blocks: list[dict[str, Any]]) -> str:
    return "tool_use" if any("toolUse" in block for block in blocks) else "end_turn"


def converse(body: dict[str, Any], started: float) -> dict[str, Any]:
    blocks = converse_blocks(body)
    return {
        "output": {"message": {"role": "assistant", "content": blocks}},
        "stopReason": _stop_reason(blocks),
        "usage": _usage(body, blocks),
        "metrics": {"latencyMs": _latency(started)},
    }


def _latency(started: float) -> int:
    return int((time.monotonic() - started) * 1000) + 100


def _block_events(index: int, block: dict[str, Any]) -> list[bytes]:
    deltas: list[dict[str, Any]]
    if "text" in block:
        deltas = [{"text": piece} for piece in words(block["text"])]
        opened = []
    else:
        use, arguments = block["toolUse"], json.dumps(block["toolUse"]["input"])
        start = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}
        opened = [event("contentBlockStart", {"contentBlockIndex": index, "start": start})]
        deltas = [{"toolUse": {"input": arguments[at : at + 8]}} for at in range(0, len(arguments), 8)]
    pieces = [event("contentBlockDelta", {"contentBlockIndex": index, "delta": delta}) for delta in deltas]
    return [*opened, *pieces, event("contentBlockStop", {"contentBlockIndex": index})]


def converse_events(body: dict[str, Any], started: float) -> list[bytes]:
    """The messages of a ``ConverseStream`` answer."""
    blocks = converse_blocks(body)
    messages = [event("messageStart", {"role": "assistant"})]
    for index, block in enumerate(blocks):
        messages += _block_events(index, block)
    messages.append(event("messageStop", {"stopReason": _stop_reason(blocks)}))
    metrics = {"latencyMs": _latency(started)}
    return [*messages, event("metadata", {"usage": _usage(body, blocks), "metrics": metrics})]


def broken_events(body: dict[str, Any], started: float) -> list[bytes]:
    """A stream the model fails in: its start and two deltas, then the exception."""
    failure = exception("modelStreamErrorException", "The model stopped in the middle of its answer.")
    return [*converse_events(body, started)[:3], failure]


# InvokeModel (Anthropic Messages on Bedrock) ----------------------------------------------------


def _anthropic_text(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, str):
        return content
    return " ".join(block.get("text", "") for block in content if isinstance(block, dict))


def anthropic_message(body: dict[str, Any], model: str) -> dict[str, Any]:
    text, tool = anthropic_reply(body)
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    if tool:
        content.append({"type": "tool_use", "id": _fresh("toolu_bdrk_"), **tool})
    prompt = sum(len(_anthropic_text(message).split()) for message in body.get("messages", []))
    return {
        "id": _fresh("msg_bdrk_"),
        "type": "message",
        "role": "assistant",
        "model": model.split(".", 1)[-1].rsplit("-v", 1)[0],
        "content": content,
        "stop_reason": "tool_use" if tool else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": len(text.split()) or 5},
    }


def _opened_and_deltas(block: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """How a content block opens in an Anthropic stream, and the deltas that fill it."""
    if block["type"] == "text":
        return {"type": "text", "text": ""}, [{"type": "text_delta", "text": p} for p in words(block["text"])]
    arguments = json.dumps(block["input"])
    pieces = [arguments[at : at + 8] for at in range(0, len(arguments), 8)]
    return {**block, "input": {}}, [{"type": "input_json_delta", "partial_json": p} for p in pieces]


def anthropic_events(message: dict[str, Any], latency: int) -> list[dict[str, Any]]:
    """The Anthropic stream events of ``message``, ending with Bedrock's invocation metrics."""
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(message["content"]):
        opened, deltas = _opened_and_deltas(block)
        events.append({"type": "content_block_start", "index": index, "content_block": opened})
        events += [{"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas]
        events.append({"type": "content_block_stop", "index": index})
    stop = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    events.append(
        {"type": "message_delta", "delta": stop, "usage": {"output_tokens": usage["output_tokens"]}}
    )
    metrics = {
        "inputTokenCount": usage["input_tokens"],
        "outputTokenCount": usage["output_tokens"],
        "invocationLatency": latency,
        "firstByteLatency": latency // 2,
    }
    return [*events, {"type": "message_stop", "amazon-bedrock-invocationMetrics": metrics}]


def chunk(data: dict[str, Any], spaced: bool = False) -> bytes:
    """A ``chunk`` message of ``InvokeModelWithResponseStream``: the event's JSON (compact, as the live
    service writes it, unless ``spaced``) as base64 ``bytes``."""
    inner = json.dumps(data).encode() if spaced else _compact(data)
    encoded = base64.b64encode(inner).decode("ascii")
    headers = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    return frame(headers, _compact({"bytes": encoded, "p": PADDING}))


# Serving ----------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    served = 0
    require_session_token: ClassVar[bool] = False

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"bedrock: {format % args}\n")

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/stats":
            return self._send(200, "application/json", json.dumps({"served": Handler.served}).encode())
        self._error(404, "UnknownOperationException", f"no route {self.path}")

    def do_POST(self) -> None:
        Handler.served += 1
        started = time.monotonic()
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        match = ROUTE.fullmatch(urlsplit(self.path).path)
        if not match:
            return self._error(404, "UnknownOperationException", f"no route {self.path}")
        operation = match["operation"]
        problem = self._unsigned() or next((e for t, e in TRIGGERS.items() if t in raw), None)
        if problem:
            return self._error(*problem)
        body = json.loads(raw or b"{}")
        if operation == "converse":
            return self._send(200, "application/json", json.dumps(converse(body, started)).encode())
        if operation == "converse-stream":
            answer = broken_events if b"[break]" in raw else converse_events
            return self._stream(answer(body, started), {})
        self._invoke(operation, anthropic_message(body, unquote(match["model"])), started, b"[spaced]" in raw)

    def _invoke(self, operation: str, message: dict[str, Any], started: float, spaced: bool) -> None:
        """Answer InvokeModel, or its stream, with an Anthropic message."""
        usage, latency = message["usage"], _latency(started)
        if operation == "invoke":
            headers = {
                "X-Amzn-Bedrock-Input-Token-Count": str(usage["input_tokens"]),
                "X-Amzn-Bedrock-Output-Token-Count": str(usage["output_tokens"]),
                "X-Amzn-Bedrock-Invocation-Latency": str(latency),
            }
            return self._send(200, "application/json", json.dumps(message).encode(), headers)
        chunks = [chunk(data, spaced) for data in anthropic_events(message, latency)]
        self._stream(chunks, {"X-Amzn-Bedrock-Content-Type": "application/json"})

    def _unsigned(self) -> tuple[int, str, str] | None:
        signed = self.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 Credential=")
        dated = "x-amz-date" in self.headers
        token = "x-amz-security-token" in self.headers or not Handler.require_session_token
        if signed and dated and token:
            return None
        return 403, "UnrecognizedClientException", "The security token included in the request is invalid."

    def _error(self, status: int, code: str, message: str) -> None:
        headers = {"x-amzn-ErrorType": f"{code}:{ERROR_NAMESPACE}"}
        self._send(status, "application/json", json.dumps({"message": message}).encode(), headers)

    def _send(
        self, status: int, content_type: str, data: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self._headers(content_type, headers or {})
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _headers(self, content_type: str, headers: dict[str, str]) -> None:
        self.send_header("content-type", content_type)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in headers.items():
            self.send_header(name, value)

    def _stream(self, messages: list[bytes], headers: dict[str, str]) -> None:
        self.send_response(200)
        self._headers(EVENTSTREAM, headers)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        first = messages[0]
        for piece in [first[:6], first[6:], *messages[1:], b""]:
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--require-session-token", action="store_true", help="refuse requests without one")
    args = parser.parse_args()
    Handler.require_session_token = args.require_session_token
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
