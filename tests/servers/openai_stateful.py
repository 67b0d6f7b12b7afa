"""A stand-in for OpenAI's stateful, multipart and binary APIs, run as its own process on 127.0.0.1 by the
tests. It keeps what it is sent in memory and answers as the ``openai`` SDK expects (every path under /v1):

- files (multipart upload, list, retrieve, content as ``application/octet-stream``, delete) and uploads
  (create, parts, complete: the parts joined into a file);
- vector stores, their files and file batches, and search by word overlap with the files' text. A vector
  store file is ``in_progress`` for the first 2 GETs of it (or of its batch), then ``completed``; the store's
  and the batch's ``file_counts`` follow;
- conversations and their items; responses (``previous_response_id`` and ``conversation`` thread earlier
  turns, the ``file_search`` tool searches the stores and cites the files it quotes), their input items,
  ``input_tokens`` and delete;
- images (a small PNG, deterministic in the prompt and the edited image), audio speech (bytes that are not
  UTF-8, ``audio/mpeg``), transcriptions and translations (multipart; ``json``, ``text``, ``verbose_json``);
- assistants, threads, messages, runs and run steps: a run is ``queued`` when created, ``in_progress`` at
  its first GET and ``completed`` from the second, when the thread gets the assistant's message.

Polled objects (vector store files and batches, runs) carry ``openai-poll-after-ms: 5``. Ids are counters
(``file-0001``, ``vs_0001``, ...) and timestamps fixed, so a second recording gives the same bytes; with
``--random-ids`` they are random, as OpenAI's are. Every
API call needs ``Authorization: Bearer ...`` (else 401); an unknown path or id is a 404, both in OpenAI's
error shape. ``GET /stats`` tells how many API calls were answered.

    python -m tests.servers.openai_stateful [--port N] [--random-ids]   # prints "PORT <n>" once listening
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import struct
import sys
import threading
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

CREATED_AT = 1_700_000_000
RANDOM_IDS = False  # --random-ids
POLL_AFTER = {"openai-poll-after-ms": "5"}
STOPWORDS = frozenset({"a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it"})
STOPWORDS |= {"of", "on", "or", "the", "to", "was", "what", "which", "with"}
SPEECH_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "opus": "audio/ogg", "aac": "audio/aac"}
CHUNKING = {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}

Json = dict[str, Any]
K = TypeVar("K")
V = TypeVar("V")


@dataclass
class Part:
    """One part of a ``multipart/form-data`` body."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str = ""

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Json
    parts: list[Part]

    def field(self, name: str, default: str | None = None) -> str | None:
        """A multipart field's text, or ``default``."""
        found = [part for part in self.parts if part.name == name]
        return found[0].text if found else default

    def file(self, *names: str) -> Part:
        """The first file part under one of ``names``, else a 400."""
        for part in self.parts:
            if part.name in names:
                return part
        raise Problem(400, f"Missing required parameter: '{names[0]}'.", names[0])


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class Problem(Exception):
    """An error answer: its status, message and the parameter at fault."""

    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param = status, message, param


def json_reply(payload: Json, headers: dict[str, str] | None = None, status: int = 200) -> Reply:
    return Reply(status, json.dumps(payload).encode(), headers=headers or {})


def error_reply(status: int, message: str, param: str | None = None) -> Reply:
    kind = "invalid_request_error" if status < 500 else "server_error"
    payload = {"error": {"message": message, "type": kind, "param": param, "code": None}}
    return json_reply(payload, status=status)


def parse_multipart(content: bytes, content_type: str) -> list[Part]:
    """The parts of a multipart body, split at its boundary by RFC 2046."""
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    if boundary is None:
        raise Problem(400, "The multipart body names no boundary.")
    pieces = (b"\r\n" + content).split(b"\r\n--" + boundary[1].encode("latin-1"))
    parts = []
    for piece in pieces[1:-1]:
        _padding, _, part = piece.partition(b"\r\n")
        head, _, data = part.partition(b"\r\n\r\n")
        headers = BytesHeaderParser(policy=HTTP).parsebytes(head + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        filename = headers.get_param("filename", header="content-disposition")
        parts.append(
            Part(
                str(name),
                data,
                str(filename) if filename is not None else None,
                str(headers.get("content-type", "")),
            )
        )
    return parts


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower())) - STOPWORDS


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def png(seed: bytes, size: int = 4) -> bytes:
    """A ``size`` x ``size`` PNG of one colour, picked by ``seed``."""
    colour = hashlib.sha256(seed).digest()[:3]
    rows = b"".join(b"\x00" + colour * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def speech(text: str) -> bytes:
    """An "MP3" for ``text``: an ID3 header, the bytes 0x80..0xff (never UTF-8) and the text's digest."""
    return (
        b"ID3\x04\x00\x00\x00\x00\x00\x00"
        + bytes(range(0x80, 0x100))
        + hashlib.sha256(text.encode()).digest()
    )


def content_text(content: Any) -> str:
    """The text of a message's content: a string, or parts with ``text`` (a string or ``{"value"}``)."""
    if isinstance(content, str):
        return content
    texts = []
    for part in content or []:
        text = part.get("text", "") if isinstance(part, dict) else ""
        texts.append(text.get("value", "") if isinstance(text, dict) else str(text))
    return "".join(texts)


def page(items: list[Json], query: dict[str, str], order: str = "desc") -> Json:
    """A cursor page of ``items`` (kept oldest first) by the ``order``, ``after`` and ``limit`` parameters."""
    ordered = items if query.get("order", order) == "asc" else items[::-1]
    after = query.get("after")
    if after:
        ids = [item.get("id") for item in ordered]
        ordered = ordered[ids.index(after) + 1 :] if after in ids else []
    limit = int(query.get("limit", 20))
    data = ordered[:limit]
    first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
    return {
        "object": "list",
        "data": data,
        "first_id": first,
        "last_id": last,
        "has_more": len(ordered) > limit,
    }


Handler = Callable[..., Reply | Json]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def route(method: str, template: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``method`` on ``/v1`` + ``template``, whose ``{name}`` parts it receives."""
    pattern = re.compile("/v1" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template))

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, pattern, handler))
        return handler

    return register


@dataclass
class VectorStoreFile:
    file_id: str
    store_id: str
    attributes: Json
    batch_id: str | None = None
    polls: int = 0


@dataclass
class Hit:
    file_id: str
    filename: str
    score: float
    text: str
    sentence: str
    attributes: Json


class State:
    """Everything the stand-in was sent, and the handlers that read and change it."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}
        self.files: dict[str, Json] = {}
        self.contents: dict[str, bytes] = {}
        self.uploads: dict[str, Json] = {}
        self.upload_parts: dict[str, bytes] = {}
        self.stores: dict[str, Json] = {}
        self.store_files: dict[tuple[str, str], VectorStoreFile] = {}
        self.batches: dict[str, Json] = {}
        self.conversations: dict[str, Json] = {}
        self.conversation_items: dict[str, list[Json]] = {}
        self.responses: dict[str, Json] = {}
        self.response_inputs: dict[str, list[Json]] = {}
        self.response_context: dict[str, list[Json]] = {}
        self.assistants: dict[str, Json] = {}
        self.threads: dict[str, Json] = {}
        self.messages: dict[str, list[Json]] = {}
        self.runs: dict[str, Json] = {}
        self.run_polls: dict[str, int] = {}
        self.steps: dict[str, list[Json]] = {}

    def new_id(self, prefix: str) -> str:
        if RANDOM_IDS:  # as OpenAI's own: random, other on every run
            return f"{prefix}{uuid.uuid4().hex[:24]}"
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}{self.counters[prefix]:04d}"

    @staticmethod
    def find(objects: Mapping[K, V], key: K, kind: str) -> V:
        if key not in objects:
            raise Problem(404, f"No {kind} found with id '{key}'.")
        return objects[key]

    # Files and uploads

    def add_file(self, filename: str, purpose: str, data: bytes) -> Json:
        file_id = self.new_id("file-")
        self.contents[file_id] = data
        self.files[file_id] = {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": CREATED_AT,
            "expires_at": None,
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "status_details": None,
        }
        return self.files[file_id]

    @route("POST", "/files")
    def create_file(self, request: Request) -> Json:
        upload = request.file("file")
        return self.add_file(
            upload.filename or "upload", request.field("purpose") or "user_data", upload.data
        )

    @route("GET", "/files")
    def list_files(self, request: Request) -> Json:
        purpose = request.query.get("purpose")
        chosen = [f for f in self.files.values() if purpose in (None, f["purpose"])]
        return page(chosen, request.query)

    @route("GET", "/files/{file_id}")
    def retrieve_file(self, request: Request, file_id: str) -> Json:
        return dict(self.find(self.files, file_id, "file"))

    @route("GET", "/files/{file_id}/content")
    def file_content(self, request: Request, file_id: str) -> Reply:
        return Reply(200, self.find(self.contents, file_id, "file"), "application/octet-stream")

    @route("DELETE", "/files/{file_id}")
    def delete_file(self, request: Request, file_id: str) -> Json:
        self.find(self.files, file_id, "file")
        del self.files[file_id], self.contents[file_id]
        return {"id": file_id, "object": "file", "deleted": True}

    @route("POST", "/uploads")
    def create_upload(self, request: Request) -> Json:
        upload_id = self.new_id("upload_")
        self.uploads[upload_id] = {
            "id": upload_id,
            "object": "upload",
            "bytes": request.body.get("bytes", 0),
            "created_at": CREATED_AT,
            "expires_at": CREATED_AT + 3600,
            "filename": request.body.get("filename", "upload"),
            "purpose": request.body.get("purpose", "user_data"),
            "status": "pending",
            "file": None,
        }
        return self.uploads[upload_id]

    @route("POST", "/uploads/{upload_id}/parts")
    def add_upload_part(self, request: Request, upload_id: str) -> Json:
        self.find(self.uploads, upload_id, "upload")
        part_id = self.new_id("part_")
        self.upload_parts[part_id] = request.file("data").data
        return {"id": part_id, "object": "upload.part", "created_at": CREATED_AT, "upload_id": upload_id}

    @route("POST", "/uploads/{upload_id}/complete")
    def complete_upload(self, request: Request, upload_id: str) -> Json:
        upload = self.find(self.uploads, upload_id, "upload")
        data = b"".join(
            self.find(self.upload_parts, p, "upload part") for p in request.body.get("part_ids", [])
        )
        if len(data) != upload["bytes"]:
            raise Problem(400, f"The parts hold {len(data)} bytes, the upload announced {upload['bytes']}.")
        upload.update(status="completed", file=self.add_file(upload["filename"], upload["purpose"], data))
        return upload

    @route("POST", "/uploads/{upload_id}/cancel")
    def cancel_upload(self, request: Request, upload_id: str) -> Json:
        upload = self.find(self.uploads, upload_id, "upload")
        upload["status"] = "cancelled"
        return upload

    # Vector stores, their files and batches

    def store_file_status(self, entry: VectorStoreFile) -> str:
        batch_polls = self.batches[entry.batch_id]["polls"] if entry.batch_id else 0
        return "completed" if max(entry.polls, batch_polls) > 2 else "in_progress"

    def file_counts(self, entries: Iterable[VectorStoreFile]) -> Json:
        statuses = [self.store_file_status(entry) for entry in entries]
        counts = {kind: statuses.count(kind) for kind in ("in_progress", "completed", "failed", "cancelled")}
        return {**counts, "total": len(statuses)}

    def entries(self, store_id: str, batch_id: str | None = None) -> list[VectorStoreFile]:
        return [
            entry
            for entry in self.store_files.values()
            if entry.store_id == store_id and batch_id in (None, entry.batch_id)
        ]

    def render_store(self, store_id: str) -> Json:
        store = self.find(self.stores, store_id, "vector store")
        entries = self.entries(store_id)
        counts = self.file_counts(entries)
        usage = sum(len(self.contents.get(entry.file_id, b"")) for entry in entries)
        status = "in_progress" if counts["in_progress"] else "completed"
        return {**store, "file_counts": counts, "status": status, "usage_bytes": usage}

    def render_store_file(self, entry: VectorStoreFile) -> Json:
        return {
            "id": entry.file_id,
            "object": "vector_store.file",
            "created_at": CREATED_AT,
            "usage_bytes": len(self.contents.get(entry.file_id, b"")),
            "vector_store_id": entry.store_id,
            "status": self.store_file_status(entry),
            "last_error": None,
            "attributes": entry.attributes,
            "chunking_strategy": CHUNKING,
        }

    def render_batch(self, batch_id: str) -> Json:
        batch = self.find(self.batches, batch_id, "vector store file batch")
        counts = self.file_counts(self.entries(batch["vector_store_id"], batch_id))
        status = "in_progress" if counts["in_progress"] else "completed"
        shown = {k: v for k, v in batch.items() if k != "polls"}
        return {**shown, "file_counts": counts, "status": status}

    def attach(
        self, store_id: str, file_id: str, attributes: Json | None, batch_id: str | None = None
    ) -> Any:
        self.find(self.files, file_id, "file")
        entry = VectorStoreFile(file_id, store_id, attributes or {}, batch_id)
        self.store_files[(store_id, file_id)] = entry
        return entry

    @route("POST", "/vector_stores")
    def create_store(self, request: Request) -> Json:
        store_id = self.new_id("vs_")
        self.stores[store_id] = {
            "id": store_id,
            "object": "vector_store",
            "created_at": CREATED_AT,
            "name": request.body.get("name", ""),
            "description": request.body.get("description"),
            "metadata": request.body.get("metadata") or {},
            "expires_after": request.body.get("expires_after"),
            "expires_at": None,
            "last_active_at": CREATED_AT,
        }
        for file_id in request.body.get("file_ids", []):
            self.attach(store_id, file_id, None)
        return self.render_store(store_id)

    @route("GET", "/vector_stores")
    def list_stores(self, request: Request) -> Json:
        return page([self.render_store(store_id) for store_id in self.stores], request.query)

    @route("GET", "/vector_stores/{store_id}")
    def retrieve_store(self, request: Request, store_id: str) -> Json:
        return self.render_store(store_id)

    @route("POST", "/vector_stores/{store_id}")
    def update_store(self, request: Request, store_id: str) -> Json:
        store = self.find(self.stores, store_id, "vector store")
        store.update({k: v for k, v in request.body.items() if k in ("name", "metadata", "expires_after")})
        return self.render_store(store_id)

    @route("DELETE", "/vector_stores/{store_id}")
    def delete_store(self, request: Request, store_id: str) -> Json:
        self.find(self.stores, store_id, "vector store")
        del self.stores[store_id]
        for entry in self.entries(store_id):
            del self.store_files[(store_id, entry.file_id)]
        return {"id": store_id, "object": "vector_store.deleted", "deleted": True}

    def search(self, store_ids: list[str], queries: list[str], limit: int) -> list[Hit]:
        """The files of the stores that share words with the queries, best first."""
        wanted = set().union(*(words(q) for q in queries))
        hits = []
        for store_id in store_ids:
            for entry in self.entries(store_id):
                text = self.contents[entry.file_id].decode("utf-8", errors="replace")
                scored = [(len(words(s) & wanted), s) for s in sentences(text)]
                best, sentence = max(scored, key=lambda pair: pair[0], default=(0, ""))
                if best:
                    filename = self.files[entry.file_id]["filename"]
                    score = round(best / max(len(wanted), 1), 4)
                    hits.append(Hit(entry.file_id, filename, score, text, sentence, entry.attributes))
        return sorted(hits, key=lambda hit: -hit.score)[:limit]

    @route("POST", "/vector_stores/{store_id}/search")
    def search_store(self, request: Request, store_id: str) -> Json:
        self.find(self.stores, store_id, "vector store")
        query = request.body.get("query", "")
        queries = [query] if isinstance(query, str) else list(query)
        hits = self.search([store_id], queries, int(request.body.get("max_num_results", 10)))
        data = [
            {
                "file_id": hit.file_id,
                "filename": hit.filename,
                "score": hit.score,
                "attributes": hit.attributes,
                "content": [{"type": "text", "text": hit.text}],
            }
            for hit in hits
        ]
        return {
            "object": "vector_store.search_results.page",
            "search_query": queries,
            "data": data,
            "has_more": False,
            "next_page": None,
        }

    @route("POST", "/vector_stores/{store_id}/files")
    def attach_file(self, request: Request, store_id: str) -> Reply:
        self.find(self.stores, store_id, "vector store")
        entry = self.attach(store_id, request.body.get("file_id", ""), request.body.get("attributes"))
        return json_reply(self.render_store_file(entry), POLL_AFTER)

    @route("GET", "/vector_stores/{store_id}/files")
    def list_store_files(self, request: Request, store_id: str) -> Json:
        self.find(self.stores, store_id, "vector store")
        return page([self.render_store_file(entry) for entry in self.entries(store_id)], request.query)

    @route("GET", "/vector_stores/{store_id}/files/{file_id}")
    def retrieve_store_file(self, request: Request, store_id: str, file_id: str) -> Reply:
        entry = self.find(self.store_files, (store_id, file_id), "vector store file")
        entry.polls += 1
        return json_reply(self.render_store_file(entry), POLL_AFTER)

    @route("DELETE", "/vector_stores/{store_id}/files/{file_id}")
    def detach_file(self, request: Request, store_id: str, file_id: str) -> Json:
        self.find(self.store_files, (store_id, file_id), "vector store file")
        del self.store_files[(store_id, file_id)]
        return {"id": file_id, "object": "vector_store.file.deleted", "deleted": True}

    @route("POST", "/vector_stores/{store_id}/file_batches")
    def create_batch(self, request: Request, store_id: str) -> Reply:
        self.find(self.stores, store_id, "vector store")
        batch_id = self.new_id("vsfb_")
        self.batches[batch_id] = {
            "id": batch_id,
            "object": "vector_store.files_batch",
            "created_at": CREATED_AT,
            "vector_store_id": store_id,
            "polls": 0,
        }
        listed = [{"file_id": file_id} for file_id in request.body.get("file_ids", [])]
        for item in listed + list(request.body.get("files", [])):
            attributes = item.get("attributes", request.body.get("attributes"))
            self.attach(store_id, item["file_id"], attributes, batch_id)
        return json_reply(self.render_batch(batch_id), POLL_AFTER)

    @route("GET", "/vector_stores/{store_id}/file_batches/{batch_id}")
    def retrieve_batch(self, request: Request, store_id: str, batch_id: str) -> Reply:
        self.find(self.batches, batch_id, "vector store file batch")["polls"] += 1
        return json_reply(self.render_batch(batch_id), POLL_AFTER)

    @route("GET", "/vector_stores/{store_id}/file_batches/{batch_id}/files")
    def list_batch_files(self, request: Request, store_id: str, batch_id: str) -> Json:
        self.find(self.batches, batch_id, "vector store file batch")
        entries = self.entries(store_id, batch_id)
        return page([self.render_store_file(entry) for entry in entries], request.query)

    # Conversations and responses

    def item(self, raw: Any) -> Json:
        """An input item as stored: a message with an id and content parts, or the item with an id."""
        if isinstance(raw, str):
            raw = {"role": "user", "content": raw}
        if raw.get("type", "message") != "message":
            return {**raw, "id": raw.get("id") or self.new_id(f"{raw['type'].split('_')[0]}_")}
        role = raw.get("role", "user")
        kind = "output_text" if role == "assistant" else "input_text"
        content = raw.get("content", "")
        parts = [{"type": kind, "text": content}] if isinstance(content, str) else list(content)
        if role == "assistant":
            parts = [{"annotations": [], **part} for part in parts]
        return {
            "id": raw.get("id") or self.new_id("msg_"),
            "type": "message",
            "role": role,
            "content": parts,
            "status": "completed",
        }

    def items(self, given: Any) -> list[Json]:
        return [self.item(raw) for raw in ([given] if isinstance(given, str) else given or [])]

    @route("POST", "/conversations")
    def create_conversation(self, request: Request) -> Json:
        conversation_id = self.new_id("conv_")
        self.conversations[conversation_id] = {
            "id": conversation_id,
            "object": "conversation",
            "created_at": CREATED_AT,
            "metadata": request.body.get("metadata") or {},
        }
        self.conversation_items[conversation_id] = self.items(request.body.get("items"))
        return self.conversations[conversation_id]

    @route("GET", "/conversations/{conversation_id}")
    def retrieve_conversation(self, request: Request, conversation_id: str) -> Json:
        return self.find(self.conversations, conversation_id, "conversation")

    @route("POST", "/conversations/{conversation_id}")
    def update_conversation(self, request: Request, conversation_id: str) -> Json:
        conversation = self.find(self.conversations, conversation_id, "conversation")
        conversation["metadata"] = request.body.get("metadata") or {}
        return conversation

    @route("DELETE", "/conversations/{conversation_id}")
    def delete_conversation(self, request: Request, conversation_id: str) -> Json:
        self.find(self.conversations, conversation_id, "conversation")
        del self.conversations[conversation_id], self.conversation_items[conversation_id]
        return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}

    @route("POST", "/conversations/{conversation_id}/items")
    def add_items(self, request: Request, conversation_id: str) -> Json:
        stored = self.find(self.conversation_items, conversation_id, "conversation")
        added = self.items(request.body.get("items"))
        stored.extend(added)
        return page(added, {"limit": str(len(added))}, order="asc")

    @route("GET", "/conversations/{conversation_id}/items")
    def list_items(self, request: Request, conversation_id: str) -> Json:
        return page(self.find(self.conversation_items, conversation_id, "conversation"), request.query)

    def find_item(self, conversation_id: str, item_id: str) -> Json:
        stored = self.find(self.conversation_items, conversation_id, "conversation")
        by_id = {item["id"]: item for item in stored}
        return self.find(by_id, item_id, "conversation item")

    @route("GET", "/conversations/{conversation_id}/items/{item_id}")
    def retrieve_item(self, request: Request, conversation_id: str, item_id: str) -> Json:
        return self.find_item(conversation_id, item_id)

    @route("DELETE", "/conversations/{conversation_id}/items/{item_id}")
    def delete_item(self, request: Request, conversation_id: str, item_id: str) -> Json:
        self.conversation_items[conversation_id].remove(self.find_item(conversation_id, item_id))
        return self.conversations[conversation_id]

    def conversation_id(self, body: Json) -> str | None:
        given = body.get("conversation")
        return given.get("id") if isinstance(given, dict) else given

    def history(self, body: Json) -> list[Json]:
        """The items of earlier turns a request continues: its previous response's or its conversation's."""
        previous = body.get("previous_response_id")
        if previous:
            return list(self.find(self.response_context, previous, "response"))
        conversation_id = self.conversation_id(body)
        if conversation_id:
            return list(self.find(self.conversation_items, conversation_id, "conversation"))
        return []

    def output(self, body: Json, context: list[Json]) -> list[Json]:
        """The answer to the last user message, after a file search when a ``file_search`` tool is given."""
        said = [
            content_text(i.get("content"))
            for i in context
            if i.get("type") == "message" and i.get("role") == "user"
        ]
        question = said[-1] if said else ""
        tools = [tool for tool in body.get("tools", []) if tool.get("type") == "file_search"]
        if not tools:
            earlier = f" (earlier: {' / '.join(said[:-1])})" if len(said) > 1 else ""
            return [self.message(f"You said: {question}{earlier}", [])]
        tool = tools[0]
        hits = self.search(tool.get("vector_store_ids", []), [question], int(tool.get("max_num_results", 10)))
        results = [
            {
                "file_id": h.file_id,
                "filename": h.filename,
                "score": h.score,
                "text": h.text,
                "attributes": h.attributes,
            }
            for h in hits
        ]
        call = {
            "id": self.new_id("fs_"),
            "type": "file_search_call",
            "status": "completed",
            "queries": [question],
            "results": results if "file_search_call.results" in body.get("include", []) else None,
        }
        if not hits:
            return [call, self.message("No document in the vector stores answers this.", [])]
        text = f'According to {hits[0].filename}: "{hits[0].sentence}"'
        cited = [hit for hit in hits if hit.score * 2 >= hits[0].score]
        annotations = [
            {"type": "file_citation", "file_id": h.file_id, "filename": h.filename, "index": len(text)}
            for h in cited
        ]
        return [call, self.message(text, annotations)]

    def message(self, text: str, annotations: list[Json]) -> Json:
        part = {"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}
        return {
            "id": self.new_id("msg_"),
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [part],
        }

    @staticmethod
    def count(items: list[Json]) -> int:
        return sum(len(content_text(item.get("content")).split()) for item in items)

    @route("POST", "/responses/input_tokens")
    def input_tokens(self, request: Request) -> Json:
        context = self.history(request.body) + self.items(request.body.get("input"))
        instructions = len(str(request.body.get("instructions") or "").split())
        return {"object": "response.input_tokens", "input_tokens": self.count(context) + instructions}

    @route("POST", "/responses")
    def create_response(self, request: Request) -> Json:
        body = request.body
        inputs = self.items(body.get("input"))
        context = self.history(body) + inputs
        output = self.output(body, context)
        response_id = self.new_id("resp_")
        conversation_id = self.conversation_id(body)
        response = {
            "id": response_id,
            "object": "response",
            "created_at": CREATED_AT,
            "completed_at": CREATED_AT,
            "status": "completed",
            "model": body.get("model", "gpt-4o-mini"),
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools", []),
            "temperature": 1.0,
            "top_p": 1.0,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "metadata": body.get("metadata") or {},
            "previous_response_id": body.get("previous_response_id"),
            "conversation": {"id": conversation_id} if conversation_id else None,
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "truncation": "disabled",
            "usage": {
                "input_tokens": self.count(context),
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": self.count(output),
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": self.count(context) + self.count(output),
            },
        }
        if body.get("store", True):
            self.responses[response_id] = response
            self.response_inputs[response_id] = inputs
            self.response_context[response_id] = context + output
        if conversation_id:
            self.conversation_items[conversation_id].extend(inputs + output)
        return response

    @route("GET", "/responses/{response_id}")
    def retrieve_response(self, request: Request, response_id: str) -> Json:
        return self.find(self.responses, response_id, "response")

    @route("DELETE", "/responses/{response_id}")
    def delete_response(self, request: Request, response_id: str) -> Json:
        self.find(self.responses, response_id, "response")
        del self.responses[response_id], self.response_inputs[response_id], self.response_context[response_id]
        return {"id": response_id, "object": "response.deleted", "deleted": True}

    @route("GET", "/responses/{response_id}/input_items")
    def list_input_items(self, request: Request, response_id: str) -> Json:
        return page(self.find(self.response_inputs, response_id, "response"), request.query)

    # Images and audio

    @staticmethod
    def images(prompt: str, seed: bytes, count: int) -> Json:
        data = [
            {
                "b64_json": base64.b64encode(png(seed + f":{index}".encode())).decode(),
                "revised_prompt": prompt,
            }
            for index in range(count)
        ]
        return {"created": CREATED_AT, "data": data, "output_format": "png", "size": "1024x1024"}

    @route("POST", "/images/generations")
    def generate_images(self, request: Request) -> Json:
        prompt = str(request.body.get("prompt", ""))
        return self.images(prompt, prompt.encode(), int(request.body.get("n", 1)))

    @route("POST", "/images/edits")
    def edit_image(self, request: Request) -> Json:
        image = request.file("image", "image[]")
        prompt = request.field("prompt") or ""
        seed = prompt.encode() + hashlib.sha256(image.data).digest()
        return self.images(prompt, seed, int(request.field("n") or 1))

    @route("POST", "/audio/speech")
    def speak(self, request: Request) -> Reply:
        kind = SPEECH_TYPES.get(str(request.body.get("response_format", "mp3")), "audio/mpeg")
        return Reply(200, speech(str(request.body.get("input", ""))), kind)

    def hear(self, request: Request, verb: str, language: str) -> Reply | Json:
        audio = request.file("file")
        digest = hashlib.sha256(audio.data).hexdigest()[:12]
        text = f"{verb} {len(audio.data)} bytes of audio, sha256 {digest}."
        duration = round(len(audio.data) / 1000, 3)
        form = request.field("response_format", "json")
        if form == "text":
            return Reply(200, text.encode(), "text/plain; charset=utf-8")
        if form == "json":
            return {"text": text, "usage": {"type": "duration", "seconds": duration}}
        if form != "verbose_json":
            raise Problem(
                400, f"response_format {form!r} is not supported by this stand-in.", "response_format"
            )
        segment = {
            "id": 0,
            "seek": 0,
            "start": 0.0,
            "end": duration,
            "text": text,
            "tokens": [len(word) for word in text.split()],
            "temperature": 0.0,
            "avg_logprob": -0.1,
            "compression_ratio": 1.0,
            "no_speech_prob": 0.0,
        }
        return {
            "task": verb.lower(),
            "language": language,
            "duration": duration,
            "text": text,
            "segments": [segment],
        }

    @route("POST", "/audio/transcriptions")
    def transcribe(self, request: Request) -> Reply | Json:
        return self.hear(request, "Transcribed", request.field("language") or "english")

    @route("POST", "/audio/translations")
    def translate(self, request: Request) -> Reply | Json:
        return self.hear(request, "Translated", "english")

    # Assistants, threads, messages, runs and steps

    @route("POST", "/assistants")
    def create_assistant(self, request: Request) -> Json:
        assistant_id = self.new_id("asst_")
        body = request.body
        self.assistants[assistant_id] = {
            "id": assistant_id,
            "object": "assistant",
            "created_at": CREATED_AT,
            "name": body.get("name"),
            "description": body.get("description"),
            "model": body.get("model", "gpt-4o-mini"),
            "instructions": body.get("instructions"),
            "tools": body.get("tools", []),
            "tool_resources": body.get("tool_resources") or {},
            "metadata": body.get("metadata") or {},
            "temperature": body.get("temperature", 1.0),
            "top_p": body.get("top_p", 1.0),
            "response_format": body.get("response_format", "auto"),
        }
        return self.assistants[assistant_id]

    @route("GET", "/assistants")
    def list_assistants(self, request: Request) -> Json:
        return page(list(self.assistants.values()), request.query)

    @route("GET", "/assistants/{assistant_id}")
    def retrieve_assistant(self, request: Request, assistant_id: str) -> Json:
        return self.find(self.assistants, assistant_id, "assistant")

    @route("POST", "/assistants/{assistant_id}")
    def update_assistant(self, request: Request, assistant_id: str) -> Json:
        assistant = self.find(self.assistants, assistant_id, "assistant")
        assistant.update({k: v for k, v in request.body.items() if k in assistant})
        return assistant

    @route("DELETE", "/assistants/{assistant_id}")
    def delete_assistant(self, request: Request, assistant_id: str) -> Json:
        del self.assistants[self.find(self.assistants, assistant_id, "assistant")["id"]]
        return {"id": assistant_id, "object": "assistant.deleted", "deleted": True}

    def new_thread(self, body: Json) -> Json:
        thread_id = self.new_id("thread_")
        self.threads[thread_id] = {
            "id": thread_id,
            "object": "thread",
            "created_at": CREATED_AT,
            "metadata": body.get("metadata") or {},
            "tool_resources": body.get("tool_resources") or {},
        }
        self.messages[thread_id] = []
        for message in body.get("messages", []):
            self.add_message(thread_id, message)
        return self.threads[thread_id]

    def add_message(self, thread_id: str, body: Json, run: Json | None = None) -> Json:
        content = body.get("content", "")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
        blocks = [
            {"type": "text", "text": {"value": part["text"], "annotations": []}}
            if part.get("type") == "text"
            else part
            for part in parts
        ]
        message = {
            "id": self.new_id("msg_"),
            "object": "thread.message",
            "created_at": CREATED_AT,
            "completed_at": CREATED_AT,
            "incomplete_at": None,
            "incomplete_details": None,
            "thread_id": thread_id,
            "status": "completed",
            "role": body.get("role", "user"),
            "content": blocks,
            "assistant_id": run["assistant_id"] if run else None,
            "run_id": run["id"] if run else None,
            "attachments": body.get("attachments") or [],
            "metadata": body.get("metadata") or {},
        }
        self.messages[thread_id].append(message)
        return message

    @route("POST", "/threads")
    def create_thread(self, request: Request) -> Json:
        return self.new_thread(request.body)

    @route("POST", "/threads/runs")
    def create_thread_and_run(self, request: Request) -> Reply:
        thread = self.new_thread(request.body.get("thread") or {})
        return self.start_run(thread["id"], request.body)

    @route("GET", "/threads/{thread_id}")
    def retrieve_thread(self, request: Request, thread_id: str) -> Json:
        return self.find(self.threads, thread_id, "thread")

    @route("POST", "/threads/{thread_id}")
    def update_thread(self, request: Request, thread_id: str) -> Json:
        thread = self.find(self.threads, thread_id, "thread")
        thread.update({k: v for k, v in request.body.items() if k in ("metadata", "tool_resources")})
        return thread

    @route("DELETE", "/threads/{thread_id}")
    def delete_thread(self, request: Request, thread_id: str) -> Json:
        self.find(self.threads, thread_id, "thread")
        del self.threads[thread_id], self.messages[thread_id]
        return {"id": thread_id, "object": "thread.deleted", "deleted": True}

    @route("POST", "/threads/{thread_id}/messages")
    def create_message(self, request: Request, thread_id: str) -> Json:
        self.find(self.threads, thread_id, "thread")
        return self.add_message(thread_id, request.body)

    @route("GET", "/threads/{thread_id}/messages")
    def list_messages(self, request: Request, thread_id: str) -> Json:
        messages = self.find(self.messages, thread_id, "thread")
        run_id = request.query.get("run_id")
        return page([m for m in messages if run_id in (None, m["run_id"])], request.query)

    @route("GET", "/threads/{thread_id}/messages/{message_id}")
    def retrieve_message(self, request: Request, thread_id: str, message_id: str) -> Json:
        by_id = {m["id"]: m for m in self.find(self.messages, thread_id, "thread")}
        return self.find(by_id, message_id, "message")

    def start_run(self, thread_id: str, body: Json) -> Reply:
        assistant = self.find(self.assistants, str(body.get("assistant_id")), "assistant")
        for message in body.get("additional_messages") or []:
            self.add_message(thread_id, message)
        run_id = self.new_id("run_")
        self.runs[run_id] = {
            "id": run_id,
            "object": "thread.run",
            "created_at": CREATED_AT,
            "assistant_id": assistant["id"],
            "thread_id": thread_id,
            "status": "queued",
            "started_at": None,
            "expires_at": CREATED_AT + 600,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "required_action": None,
            "last_error": None,
            "model": body.get("model") or assistant["model"],
            "instructions": body.get("instructions") or assistant["instructions"] or "",
            "tools": body.get("tools") or assistant["tools"],
            "metadata": body.get("metadata") or {},
            "incomplete_details": None,
            "usage": None,
            "temperature": 1.0,
            "top_p": 1.0,
            "max_prompt_tokens": None,
            "max_completion_tokens": None,
            "truncation_strategy": {"type": "auto", "last_messages": None},
            "response_format": "auto",
            "tool_choice": "auto",
            "parallel_tool_calls": True,
        }
        self.run_polls[run_id], self.steps[run_id] = 0, []
        return json_reply(self.runs[run_id], POLL_AFTER)

    def advance(self, run: Json) -> None:
        """One GET further: queued runs start, started ones finish, writing the assistant's answer."""
        self.run_polls[run["id"]] += 1
        if run["status"] == "queued":
            run.update(status="in_progress", started_at=CREATED_AT, expires_at=CREATED_AT + 600)
        elif run["status"] == "in_progress":
            thread = self.messages[run["thread_id"]]
            said = [content_text(m["content"]) for m in thread if m["role"] == "user"]
            answer = f"You said: {said[-1] if said else ''} (messages in the thread: {len(thread)})"
            message = self.add_message(run["thread_id"], {"role": "assistant", "content": answer}, run)
            usage = {"prompt_tokens": self.count(thread[:-1]), "completion_tokens": len(answer.split())}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            run.update(status="completed", completed_at=CREATED_AT, expires_at=None, usage=usage)
            self.steps[run["id"]].append(self.step(run, message["id"], usage))

    def step(self, run: Json, message_id: str, usage: Json) -> Json:
        return {
            "id": self.new_id("step_"),
            "object": "thread.run.step",
            "created_at": CREATED_AT,
            "run_id": run["id"],
            "assistant_id": run["assistant_id"],
            "thread_id": run["thread_id"],
            "type": "message_creation",
            "status": "completed",
            "cancelled_at": None,
            "completed_at": CREATED_AT,
            "expired_at": None,
            "failed_at": None,
            "last_error": None,
            "step_details": {"type": "message_creation", "message_creation": {"message_id": message_id}},
            "usage": usage,
            "metadata": {},
        }

    def find_run(self, thread_id: str, run_id: str) -> Json:
        run: Json = self.find(self.runs, run_id, "run")
        if run["thread_id"] != thread_id:
            raise Problem(404, f"No run found with id '{run_id}'.")
        return run

    @route("POST", "/threads/{thread_id}/runs")
    def create_run(self, request: Request, thread_id: str) -> Reply:
        self.find(self.threads, thread_id, "thread")
        return self.start_run(thread_id, request.body)

    @route("GET", "/threads/{thread_id}/runs")
    def list_runs(self, request: Request, thread_id: str) -> Json:
        self.find(self.threads, thread_id, "thread")
        return page([run for run in self.runs.values() if run["thread_id"] == thread_id], request.query)

    @route("GET", "/threads/{thread_id}/runs/{run_id}")
    def retrieve_run(self, request: Request, thread_id: str, run_id: str) -> Reply:
        run = self.find_run(thread_id, run_id)
        self.advance(run)
        return json_reply(run, POLL_AFTER)

    @route("POST", "/threads/{thread_id}/runs/{run_id}/cancel")
    def cancel_run(self, request: Request, thread_id: str, run_id: str) -> Reply:
        run = self.find_run(thread_id, run_id)
        if run["status"] in ("queued", "in_progress"):
            run.update(status="cancelled", cancelled_at=CREATED_AT, expires_at=None)
        return json_reply(run, POLL_AFTER)

    @route("GET", "/threads/{thread_id}/runs/{run_id}/steps")
    def list_steps(self, request: Request, thread_id: str, run_id: str) -> Json:
        self.find_run(thread_id, run_id)
        return page(self.steps[run_id], request.query)

    @route("GET", "/threads/{thread_id}/runs/{run_id}/steps/{step_id}")
    def retrieve_step(self, request: Request, thread_id: str, run_id: str, step_id: str) -> Json:
        self.find_run(thread_id, run_id)
        by_id = {step["id"]: step for step in self.steps[run_id]}
        return self.find(by_id, step_id, "run step")

    def answer(self, request: Request) -> Reply:
        """The reply of the route that matches the request, or a 404."""
        for method, pattern, handler in ROUTES:
            found = pattern.fullmatch(request.path)
            if found and method == request.method:
                result = handler(self, request, **found.groupdict())
                return result if isinstance(result, Reply) else json_reply(result)
        raise Problem(404, f"Invalid URL ({request.method} {request.path})")


class Stand(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = State()
    lock = threading.Lock()
    served = 0

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"openai_stateful: {format % args}\n")

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/stats":
            return self.send(json_reply({"served": Stand.served}))
        self.handle_api()

    def do_POST(self) -> None:
        self.handle_api()

    def do_DELETE(self) -> None:
        self.handle_api()

    def handle_api(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        with Stand.lock:
            Stand.served += 1
            self.send(self.reply(raw))

    def reply(self, raw: bytes) -> Reply:
        if not self.headers.get("authorization", "").startswith("Bearer "):
            return error_reply(401, "You didn't provide an API key in an Authorization header (Bearer).")
        try:
            return Stand.state.answer(self.request_of(raw))
        except Problem as problem:
            return error_reply(problem.status, problem.message, problem.param)

    def request_of(self, raw: bytes) -> Request:
        url = urlsplit(self.path)
        content_type = self.headers.get("content-type", "")
        body, parts = {}, []
        if content_type.startswith("multipart/form-data"):
            parts = parse_multipart(raw, content_type)
        elif raw:
            try:
                body = json.loads(raw)
            except ValueError:
                raise Problem(400, "We could not parse the JSON body of your request.") from None
        return Request(self.command, url.path, dict(parse_qsl(url.query)), body, parts)

    def send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("content-type", reply.content_type)
        self.send_header("content-length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--random-ids", action="store_true", help="random ids, as OpenAI's, not counters")
    args = parser.parse_args()
    global RANDOM_IDS
    RANDOM_IDS = args.random_ids
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Stand)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
