"""Drift: how the live API's answer to a recorded request differs from the recorded answer, and the report
of a drift-mode run.

Structural drift is what code reading the answer would notice: another status or error type, a streamed
answer become whole (or the reverse) or its stream events changed, another model named (an upgrade),
another finish reason, other tool calls (names, order, each call's argument keys), other fields in the
answer's data (JSON key paths, values ignored, lists folded: ``choices[].message.refusal``), another
embedding shape. Values are never structure: fresh ids, timestamps, token counts and fingerprints differ on
every call. Textual drift is the similarity, 0 to 1, of the two answers' text (``difflib``'s ratio).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shlex
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import orjson

from llmtape.format import assemble
from llmtape.format.recording import Recording, StoredResponse, new_recording
from llmtape.format.reply import Reply, ToolCall
from llmtape.secrets import masked, masked_value
from llmtape.stable_ids import PADDING

REPORT_VERSION = 1
STRUCTURAL, TEXTUAL, SAME, FAILED = "structural", "textual", "same", "failed"
# difflib's ratio is quadratic at worst: 5,000 characters take under a second, 20,000 several.
COMPARED_CHARACTERS = 5_000
SHOWN_CHARACTERS = 500  # of each text in the report file and in what a worker sends its controller
PREVIEW_CHARACTERS = 60  # of each text in the session summary
LISTED = 8  # fields named in one difference; the rest are counted
COUNTS = frozenset({"usage", "usageMetadata", "usage_metadata", "meta"})  # token counts, billed units
# Objects whose keys are data: a tool call's arguments (judged by the argument-key rule), the caller's
# metadata, a tool's JSON schema echoed back.
FREE_FORM = frozenset({"arguments", "args", "input", "metadata", "parameters"})
# The endpoints that answer with vectors: OpenAI's, Ollama's, Cohere's, Gemini's.
EMBEDDINGS = ("/embeddings", "/embed", ":embedContent", ":batchEmbedContents")
_SEPARATOR = re.compile(r"\.|\[\]")


@dataclass(frozen=True, slots=True)
class Drift:
    """How one live answer differs from its recording."""

    structural: tuple[str, ...]
    similarity: float
    recorded_text: str
    live_text: str

    @property
    def has_structural(self) -> bool:
        return bool(self.structural)

    def textual(self, threshold: float) -> bool:
        """True when the text drifted: its similarity is below ``threshold``."""
        return self.similarity < threshold


def compare(recorded: Recording, live: StoredResponse) -> Drift:
    """The drift of ``live``, the live answer to the request of ``recorded``, from the recorded answer."""
    answered = new_recording(recorded["request"], live)
    old, new = assemble.reply(recorded), assemble.reply(answered)
    endpoint = recorded["request"].get("endpoint", "")
    found = tuple(_differences(recorded["response"], live, old, new, endpoint))
    old_text, new_text = _text(old), _text(new)
    score = similarity(old_text, new_text) if _has_text(endpoint) else 1.0
    return Drift(found, score, old_text, new_text)


def similarity(recorded: str, live: str) -> float:
    """How alike two texts are, 0 to 1 (1 for two empty texts), over their first characters only."""
    recorded, live = recorded[:COMPARED_CHARACTERS], live[:COMPARED_CHARACTERS]
    if recorded == live:
        return 1.0
    return SequenceMatcher(None, recorded, live, autojunk=False).ratio()


def _text(reply: Reply) -> str:
    return (reply.error or reply.text)[:COMPARED_CHARACTERS]


def _has_text(endpoint: str) -> bool:
    """Whether the answer is words: not embeddings, nor an endpoint shown as its raw JSON (files, stores)."""
    known = any(endpoint.endswith(suffix) for suffix, _ in assemble.BUILDERS)
    return known and not endpoint.endswith(EMBEDDINGS)


def _differences(
    before: StoredResponse, after: StoredResponse, old: Reply, new: Reply, endpoint: str
) -> Iterator[str]:
    yield from _changed("status", before["status"], after["status"])
    failed = before["status"] >= 400, after["status"] >= 400
    if any(failed):  # an error's fields, finish and tool calls are not the answer's
        if all(failed):
            yield from _error_differences(before, after)
        return
    yield from _changed("model", _model(before), _model(after))
    yield from _changed("finish reason", old.finish, new.finish)
    yield from _tool_call_differences(old.tool_calls, new.tool_calls)
    if endpoint.endswith(EMBEDDINGS):
        yield from _vector_differences(before, after)
    if before["is_streaming"] != after["is_streaming"]:
        streamed = {True: "streamed", False: "not streamed"}
        yield f"{streamed[before['is_streaming']]} → {streamed[after['is_streaming']]}"
        return  # a stream's chunks and a whole answer have different fields
    if after["is_streaming"]:
        yield from _stream_differences(before, after)
    if not after.get("incomplete"):  # a stream cut short lacks the fields of its end
        yield from _field_differences(_paths(before), _paths(after))


def _changed(what: str, old: Any, new: Any) -> Iterator[str]:
    if old != new:
        yield f"{what} {'none' if old is None else old} → {'none' if new is None else new}"


def _added_dropped(what: str, added: set[str], dropped: set[str]) -> Iterator[str]:
    parts = [
        f"{what} {change}: {_listed(names)}"
        for change, names in (("added", added), ("dropped", dropped))
        if names
    ]
    if parts:
        yield "; ".join(parts)


def _listed(names: set[str]) -> str:
    ordered = sorted(names)
    more = f" (and {len(ordered) - LISTED} more)" if len(ordered) > LISTED else ""
    return ", ".join(ordered[:LISTED]) + more


def _error_differences(before: StoredResponse, after: StoredResponse) -> Iterator[str]:
    (old_type, old_code), (new_type, new_code) = _error_kind(before), _error_kind(after)
    yield from _changed("error type", old_type, new_type)
    yield from _changed("error code", old_code, new_code)


def _error_kind(response: StoredResponse) -> tuple[Any, Any]:
    """An error answer's type and code: OpenAI's ``error.type``/``code``, Anthropic's ``error.type``,
    Gemini's ``error.status``/``code``, AWS's ``x-amzn-errortype`` header."""
    data = next(iter(_objects(response)), {})
    detail = data.get("error", data)
    detail = detail if isinstance(detail, dict) else {}
    header = response["headers"].get("x-amzn-errortype", "").partition(":")[0]
    return detail.get("type") or detail.get("status") or header or None, detail.get("code")


def _objects(response: StoredResponse) -> Iterator[dict[str, Any]]:
    """The JSON objects of an answer; a JSON array (Gemini's error to a stream request) read as its items."""
    for data in assemble.payloads(response):
        yield from (item for item in (data if isinstance(data, list) else [data]) if isinstance(item, dict))


def _model(response: StoredResponse) -> str | None:
    """The model the answer names: ``model`` (OpenAI, Ollama), its message's (Anthropic's stream), its
    response's (the Responses API's events), ``modelVersion`` (Gemini)."""
    for data in _objects(response):
        for holder in (data, data.get("message"), data.get("response")):
            if isinstance(holder, dict):
                name = holder.get("model") or holder.get("modelVersion") or holder.get("model_version")
                if isinstance(name, str) and name:
                    return name
    return None


def _tool_call_differences(old: list[ToolCall], new: list[ToolCall]) -> Iterator[str]:
    old_names, new_names = [call.name for call in old], [call.name for call in new]
    if old_names != new_names:
        yield f"tool calls [{', '.join(old_names)}] → [{', '.join(new_names)}]"
    for was, now in _same_named(old, new):
        yield from _changed(
            f"{was.name} arguments", _argument_keys(was.arguments), _argument_keys(now.arguments)
        )


def _same_named(old: list[ToolCall], new: list[ToolCall]) -> Iterator[tuple[ToolCall, ToolCall]]:
    """The calls of the same name, paired in order: the first ``search`` with the first ``search``..."""
    for name in dict.fromkeys(call.name for call in old):
        yield from zip((c for c in old if c.name == name), (c for c in new if c.name == name), strict=False)


def _argument_keys(arguments: str) -> str:
    """A call's argument keys, ``{city, unit}``; arguments that are no JSON object count only as
    present or not."""
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return "(text)" if arguments.strip() else "(none)"
    return "{" + ", ".join(sorted(parsed)) + "}" if isinstance(parsed, dict) else "(not an object)"


def _stream_differences(before: StoredResponse, after: StoredResponse) -> Iterator[str]:
    old, new = _events(before), _events(after)
    yield from _added_dropped("stream events", new - old, old - new)
    cut = after.get("incomplete")
    if cut and not before.get("incomplete"):
        yield f"live stream cut short ({cut.get('error')}: {str(cut.get('message'))[:120]})"


def _events(response: StoredResponse) -> set[str]:
    return {str(c["__event__"]) for c in response["body"] or [] if isinstance(c, dict) and "__event__" in c}


def _paths(response: StoredResponse) -> set[str]:
    """The JSON key paths of an answer's data (of every chunk of a stream), lists folded."""
    found: set[str] = set()
    for data in assemble.payloads(response):
        _walk(data, "", found)
    return found


def _walk(value: Any, path: str, found: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == PADDING:  # random padding, dropped from recordings (see stable_ids)
                continue
            place = f"{path}.{key}" if path else str(key)
            found.add(place)
            if key not in COUNTS and key not in FREE_FORM:
                _walk(item, place, found)
    elif isinstance(value, list):
        for item in value:
            _walk(item, f"{path}[]", found)


def _field_differences(before: set[str], after: set[str]) -> Iterator[str]:
    yield from _added_dropped("fields", _topmost(after - before), _topmost(before - after))


def _topmost(paths: set[str]) -> set[str]:
    """The paths, but for those inside another of them: a field added with its subfields is one change."""
    return {p for p in paths if not any(p[: m.start()] in paths for m in _SEPARATOR.finditer(p))}


def _vector_differences(before: StoredResponse, after: StoredResponse) -> Iterator[str]:
    old, new = _vector_sizes(before), _vector_sizes(after)
    yield from _changed("embeddings", len(old), len(new))
    yield from _changed("embedding length", old[0] if old else 0, new[0] if new else 0)


def _vector_sizes(response: StoredResponse) -> list[int]:
    return [size for data in assemble.payloads(response) for size in _dimensions(data, "")]


def _dimensions(value: Any, key: str) -> Iterator[int]:
    """The length of each vector in an answer: a list of numbers, or (OpenAI's ``encoding_format=base64``)
    an ``embedding`` string of 4-byte floats."""
    if isinstance(value, list) and value and all(_is_number(item) for item in value):
        yield len(value)
    elif isinstance(value, list):
        for item in value:
            yield from _dimensions(item, key)
    elif isinstance(value, dict):
        for name, item in value.items():
            if name not in COUNTS:
                yield from _dimensions(item, name)
    elif isinstance(value, str) and key == "embedding":
        try:
            yield len(base64.b64decode(value, validate=True)) // 4
        except binascii.Error:
            return


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class Entry:
    """One call compared: its test, its recording and request, and how it drifted, or why it could not
    be compared (``error``: the live call failed)."""

    test: str
    recording: str
    method: str
    url: str
    model: str | None
    drift: Drift | None = None
    error: str | None = None

    def status(self, threshold: float) -> str:
        """``structural``, ``textual`` (similarity below ``threshold``), ``same`` or ``failed``."""
        if self.error is not None or self.drift is None:
            return FAILED
        if self.drift.has_structural:
            return STRUCTURAL
        return TEXTUAL if self.drift.textual(threshold) else SAME

    def to_json(self) -> dict[str, Any]:
        """The entry as JSON data, every string masked, its texts cut short."""
        drift = self.drift
        data: dict[str, Any] = masked_value(
            {
                "test": self.test,
                "recording": self.recording,
                "method": self.method,
                "url": self.url,
                "model": self.model,
                "structural": list(drift.structural) if drift else [],
                "similarity": round(drift.similarity, 4) if drift else None,
                "recorded_text": drift.recorded_text if drift else "",
                "live_text": drift.live_text if drift else "",
                "error": self.error,
            }
        )
        # Masked before cut short: a credential cut in the middle would no longer be recognized.
        data["recorded_text"], data["live_text"] = _cut(data["recorded_text"]), _cut(data["live_text"])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        """The entry :meth:`to_json` wrote."""
        drift = None
        if data.get("similarity") is not None:
            drift = Drift(
                tuple(data["structural"]), float(data["similarity"]), data["recorded_text"], data["live_text"]
            )
        fields = {name: data[name] for name in ("test", "recording", "method", "url", "model", "error")}
        return cls(**fields, drift=drift)


def _cut(text: str, limit: int = SHOWN_CHARACTERS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Report:
    """The calls a drift-mode run compared; thread-safe, as the checks run on worker threads."""

    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._mutex = threading.Lock()

    def add(self, entry: Entry) -> None:
        with self._mutex:
            self._entries.append(entry)

    @property
    def entries(self) -> list[Entry]:
        """Every call compared, in a stable order: by test, then recording."""
        with self._mutex:
            entries = list(self._entries)
        return sorted(entries, key=lambda e: (e.test, e.recording, e.method, e.url))

    def structural(self) -> list[Entry]:
        """The calls whose answer changed its structure."""
        return [e for e in self.entries if e.error is None and e.drift is not None and e.drift.has_structural]

    def textual(self, threshold: float) -> list[Entry]:
        """The calls whose text alone drifted (structural drift is counted apart)."""
        return [e for e in self.entries if e.status(threshold) == TEXTUAL]

    def errors(self) -> list[Entry]:
        """The calls whose live side failed (refused, timed out, unreadable)."""
        return [e for e in self.entries if e.error is not None or e.drift is None]

    def to_json(self) -> dict[str, Any]:
        """The entries as JSON data, for a pytest-xdist worker to send to its controller."""
        return {"calls": [entry.to_json() for entry in self.entries]}

    def merge_json(self, data: Any) -> None:
        """Add the entries of another report's :meth:`to_json` (a worker's)."""
        for item in (data or {}).get("calls", []):
            self.add(Entry.from_json(item))

    def lines(self, threshold: float, verbose: bool = False) -> list[str]:
        """The end-of-session summary: the counts, then each drifted or failed call (every call when
        ``verbose``), then the command that takes the live answers."""
        entries = self.entries
        if not entries:
            return ["llmtape drift: no call was compared with the live API (no recording was replayed)"]
        by_status = {status: [e for e in entries if e.status(threshold) == status] for status in _ORDER}
        counts = {status: len(listed) for status, listed in by_status.items()}
        lines = [
            f"llmtape drift: {_calls(len(entries))} compared with the live API: "
            f"{counts[STRUCTURAL]} structural drift, {counts[TEXTUAL]} textual drift "
            f"(similarity < {threshold:.2f}), {counts[FAILED]} failed"
        ]
        for status in _ORDER if verbose else _ORDER[:-1]:
            for entry in by_status[status]:
                lines += _entry_lines(entry, status)
        lines += _rewrite_hint(by_status[STRUCTURAL] + by_status[TEXTUAL])
        return [masked(line) for line in lines]

    def write(self, path: Path, threshold: float) -> None:
        """The report as a JSON file: UTF-8, indented, texts cut short, every string masked; written
        atomically."""
        calls = [{**e.to_json(), "status": e.status(threshold)} for e in self.entries]
        statuses = [call["status"] for call in calls]
        document = {
            "llmtape": {"drift_report": REPORT_VERSION},
            "threshold": threshold,
            "compared": len(calls),
            **{status: statuses.count(status) for status in (STRUCTURAL, TEXTUAL, FAILED)},
            "calls": [_ordered(call) for call in calls],
        }
        content = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"  # masked by to_json
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        temp.write_bytes(content)
        os.replace(temp, path)


_ORDER = (STRUCTURAL, TEXTUAL, FAILED, SAME)  # of the calls in the summary
_CALL_FIELDS = (
    *("test", "recording", "method", "url", "model", "status"),
    *("structural", "similarity", "recorded_text", "live_text", "error"),
)


def _ordered(call: dict[str, Any]) -> dict[str, Any]:
    """A call of the report file, its fields in the documented order."""
    return {name: call[name] for name in _CALL_FIELDS}


def _calls(count: int) -> str:
    return f"{count} call" if count == 1 else f"{count} calls"


def _entry_lines(entry: Entry, status: str) -> list[str]:
    where = f"{entry.test}  {entry.recording}"
    drift = entry.drift
    if status == FAILED or drift is None:
        return [f"  FAILED {where}", f"    {entry.method} {entry.url}: {entry.error}"]
    if status == STRUCTURAL:
        return [f"  STRUCTURAL {where}", *(f"    {difference}" for difference in drift.structural)]
    score = f"{drift.similarity:.2f}"
    if status == SAME:
        return [f"  same {score} {where}"]
    recorded, live = _preview(drift.recorded_text), _preview(drift.live_text)
    return [f"  text {score} {where}", f"    recorded: {recorded}   live: {live}"]


def _preview(text: str) -> str:
    return json.dumps(_cut(masked(text), PREVIEW_CHARACTERS), ensure_ascii=False)


def _rewrite_hint(drifted: list[Entry]) -> list[str]:
    tests = sorted({entry.test for entry in drifted if entry.test})
    if not tests:
        return []
    named = " ".join(shlex.quote(test) for test in tests) if len(tests) <= 5 else "<the tests above>"
    return [f"  to take the live answers as the new recordings: pytest --llmtape-mode=rewrite {named}"]
