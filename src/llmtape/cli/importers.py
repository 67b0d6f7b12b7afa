"""Bring recordings made by other tools: llama-stack's recording files and vcrpy cassettes.

Each source becomes recordings keyed by llmtape's own rule, every chunk's data unchanged. What cannot
be imported (a file, or one interaction of a cassette) is reported with why and the fix, and skipped;
the others are imported all the same, and the summary counts what was written, collided and skipped.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from llmtape.cli import cassettes
from llmtape.cli.cassettes import Unusable
from llmtape.config import Endpoints
from llmtape.errors import RecordingError, shown
from llmtape.format.recording import (
    Recording,
    StoredResponse,
    dumps,
    new_recording,
    new_request,
    parse,
    scrub_url,
)
from llmtape.format.typemap import JSON_TYPE
from llmtape.keys import file_name
from llmtape.matching import Matching, recording_key
from llmtape.secrets import environment_secrets, file_credentials, masked, recording_shapes, redact_recording
from llmtape.store import Store

Imported = tuple[str, Recording, dict[str, bytes]]  # key, recording, the bytes of its sidecar files
OK, INCOMPLETE = 0, 1  # exit statuses: all imported; something skipped, or nothing imported at all


@dataclass(frozen=True, slots=True)
class Skipped:
    """A source file, or one interaction of it, that was not imported: where, why, and what to do."""

    source: Path
    reason: str  # a short name, counted in the summary
    detail: str
    fix: str
    where: str = ""  # "interaction 2 of 5 (POST https://...)" in a cassette

    def lines(self) -> list[str]:
        place = shown(self.source) + (f", {self.where}" if self.where else "")
        return [f"llmtape: skipped {place}: {self.detail}", f"  fix: {self.fix}"]


@dataclass(frozen=True, slots=True)
class LeftOut:
    """An interaction that is not an LLM call, by llmtape's endpoints."""

    request: str


Item = Imported | Skipped | LeftOut


def run_import(source: str, files: list[Path], directory: Path, *, per_test: bool, root: Path) -> int:
    """Import ``files`` (llama-stack recordings or vcrpy cassettes) into ``directory``; the exit status."""
    tally, endpoints = Tally(Store(directory), per_test), Endpoints()
    for path in files:
        if source == "llama-stack":
            tally.take(path, from_llama_stack(path, per_test=per_test))
        else:
            test_id = cassettes.node_id(path, root) if per_test else None
            tally.take(path, from_vcr(path, endpoints, test_id=test_id))
    return tally.summary(len(files))


@dataclass
class Tally:
    """What an import did so far: written, collided, skipped (by reason) and left out."""

    store: Store
    per_test: bool
    written: int = 0
    collided: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    left_out: int = 0

    def take(self, path: Path, items: Iterator[Item]) -> None:
        """Store one source file's recordings, a request repeated within it (a retry) in its order."""
        seen: Counter[str] = Counter()
        left: list[str] = []
        skipped = False
        for item in items:
            if isinstance(item, Skipped):
                self.skipped[item.reason] += 1
                skipped = True
                _report(item.lines())
            elif isinstance(item, LeftOut):
                left.append(item.request)
            else:
                key, recording, files = item
                seen[key] += 1
                self._store(path, file_name(key, seen[key]), recording, files)
        self.left_out += len(left)
        if not (seen or skipped):
            calls = ", ".join(left[:3]) + (", ..." if len(left) > 3 else "")
            why = f"no LLM call in it ({calls})" if left else "it holds no interaction"
            _report([f"llmtape: nothing imported from {shown(path)}: {why}"])

    def _store(self, path: Path, name: str, recording: Recording, files: dict[str, bytes]) -> None:
        if self.store.path(name).exists():
            self.collided += 1
            print(masked(f"  kept the existing {name}.json; {path} sends the same request"))
        else:
            self.store.save(name, recording, files)
            self.written += 1
        if (self.written + self.collided) % 100 == 0:
            print(f"  {self.written + self.collided} imported...", file=sys.stderr)

    def summary(self, files: int) -> int:
        """Print the summary line (and what follows from it); the exit status."""
        skipped = sum(self.skipped.values())
        why = ", ".join(f"{count} {reason}" for reason, count in self.skipped.most_common())
        left = f", {self.left_out} left out (not LLM calls)" if self.left_out else ""
        print(
            f"llmtape: imported {files} files into {self.store.directory}: {self.written} written, "
            f"{self.collided} collided, {skipped} skipped{f' ({why})' if why else ''}{left}"
        )
        if self.collided and not self.per_test:
            print(
                "llmtape: identical requests share one recording in the shared scope; --scope test keeps each"
            )
        if not self.written + self.collided:
            print("llmtape: nothing was imported")
        return INCOMPLETE if skipped or not self.written + self.collided else OK


def _report(lines: list[str]) -> None:
    for line in lines:
        print(masked(line), file=sys.stderr)


def finished(recording: Recording, files: dict[str, bytes] | None = None) -> Imported:
    """An imported recording, its key and its sidecar files, its credentials from the environment
    redacted, once the secret gate and the format's parser accept it."""
    secrets = environment_secrets(os.environ)
    recording = redact_recording(recording, secrets)
    found = recording_shapes(recording)
    for name, content in (files or {}).items():
        variables, shapes = file_credentials(content, secrets)
        if variables or shapes:
            raise Unusable(
                "credential",
                f"its file {name} holds {', '.join(variables + shapes)}, which cannot be redacted from bytes",
                "remove it from the source and import again",
            )
    if found:
        raise Unusable(
            "credential",
            f"it holds what looks like a credential ({', '.join(found)})",
            "remove it from the source (vcrpy: filter_headers, filter_query_parameters, "
            "before_record_response) and import again",
        )
    try:
        parse(dumps(recording), "the imported recording")
    except RecordingError as error:
        raise Unusable("invalid", str(error).splitlines()[0].removeprefix("llmtape: ")) from None
    return recording_key(recording, Matching()), recording, files or {}


def _skipped(source: Path, error: Exception, where: str = "") -> Skipped:
    if isinstance(error, Unusable):
        return Skipped(source, error.reason, error.detail, error.fix, where)
    return Skipped(
        source,
        "unreadable",
        f"llmtape could not read it ({type(error).__name__}: {error})",
        "report it to llmtape's issue tracker, with this part of the file",
        where,
    )


def from_llama_stack(path: Path, *, per_test: bool) -> Iterator[Item]:
    """One llama-stack recording; ``per_test`` keys it by its test id (or, lacking one, its file)."""
    try:
        yield finished(_llama_recording(path, per_test))
    except Exception as error:  # one odd file must not cost the others: reported, then skipped
        yield _skipped(path, error)


def _llama_recording(path: Path, per_test: bool) -> Recording:
    data = _json_file(path)
    request, response = data["request"], data["response"]
    url, endpoint = request["url"], urlsplit(request["url"]).path
    method, body = request["method"].upper(), request.get("body")
    if str(request.get("endpoint", "")).endswith("/models"):
        # The openai SDK lists models with a bodiless GET; llama-stack files it as a POST of {}.
        method, body = "GET", None
    test_id = (data.get("test_id") or f"llama-stack:{path.stem}") if per_test else None
    stored = new_request(method, url, endpoint, {"content-type": "application/json"}, body)
    return new_recording(stored, _llama_response(response), test_id)


def _llama_response(response: dict[str, Any]) -> StoredResponse:
    if response.get("is_exception"):
        error = response.get("exception_data") or {}
        detail = error.get("body") or {"message": response.get("exception_message", "")}
        body = {"__type__": JSON_TYPE, "__data__": {"error": detail}}
        return _response(int(error.get("status_code") or 500), "application/json", False, body)
    if response.get("is_streaming"):
        return {**_response(200, "text/event-stream", True, response["body"]), "sse_done": True}
    body = response["body"]
    if isinstance(body, list):  # a model list, stored item by item
        body = {
            "__type__": JSON_TYPE,
            "__data__": {"object": "list", "data": [item["__data__"] for item in body]},
        }
    return _response(200, "application/json", False, body)


def _response(status: int, content_type: str, streaming: bool, body: Any) -> StoredResponse:
    return {
        "status": status,
        "headers": {"content-type": content_type},
        "is_streaming": streaming,
        "body": body,
    }


def _json_file(path: Path) -> dict[str, Any]:
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise Unusable("not JSON", f"it is not JSON ({error})", "repair it, or leave it out") from None
    if not (isinstance(data, dict) and isinstance(data.get("request"), dict) and "response" in data):
        raise Unusable(
            "unknown layout",
            "it is not a llama-stack recording (no 'request'/'response')",
            "import llama-stack recording files only",
        )
    return data


def from_vcr(path: Path, endpoints: Endpoints, *, test_id: str | None = None) -> Iterator[Item]:
    """The LLM calls of a vcrpy (or pytest-recording) cassette, each one a recording or a report of why
    not; the other interactions are left out."""
    try:
        found = cassettes.interactions(path)
    except Unusable as error:
        yield _skipped(path, error)
        return
    for index, interaction in enumerate(found, 1):
        yield _vcr_item(path, f"interaction {index} of {len(found)}", interaction, endpoints, test_id)


def _vcr_item(path: Path, where: str, interaction: Any, endpoints: Endpoints, test_id: str | None) -> Item:
    try:
        method, url = cassettes.request_line(interaction)
        request = f"{method} {scrub_url(url)}"
        where = f"{where} ({request})"
        parts = urlsplit(url)
        if not endpoints.match(method, parts.path, parts.netloc.rpartition("@")[2]):
            return LeftOut(request)
        return finished(*cassettes.recording(cassettes.exchange(interaction), test_id))
    except Exception as error:  # one odd interaction must not cost the others: reported, then skipped
        return _skipped(path, error, where)
