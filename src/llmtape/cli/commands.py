"""The inspection commands of the ``llmtape`` tool: list, show, diff, explain."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from llmtape.errors import LlmtapeError, RecordingError, shown
from llmtape.format.assemble import Reply, messages, model, payloads, reply, tools
from llmtape.format.recording import Recording, StoredResponse
from llmtape.jsondiff import json_diff
from llmtape.keys import canonical_json, key_material, request_key, url_query
from llmtape.ledger import Ledger, counted, dollars, tokens_of
from llmtape.matching import Matching
from llmtape.prices import Prices
from llmtape.secrets import masked, masked_value
from llmtape.store import Store, read, unreadable


def resolve(directory: Path, target: str) -> Path:
    """A recording named by its path, its key, or a unique prefix of its key."""
    if Path(target).is_file():
        return Path(target)
    found = sorted(directory.glob(f"{target}*.json"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise LlmtapeError(f"llmtape: no recording in {shown(directory)} matches {target!r}")
    raise LlmtapeError(
        f"llmtape: {target!r} matches {len(found)} recordings in {shown(directory)}; give more of the key"
    )


def load(path: Path) -> Recording:
    """One recording, through the format's parser."""
    try:
        return read(path)
    except FileNotFoundError as error:
        raise unreadable(path, error) from None


def recordings(directory: Path) -> Iterator[tuple[Path, Recording]]:
    """Every readable recording of a directory; an unreadable one is reported on standard error and
    skipped; progress goes there too for large directories."""
    paths = sorted(directory.glob("*.json"))
    for number, path in enumerate(paths, 1):
        if number % 1000 == 0:
            print(f"  {number}/{len(paths)} read...", file=sys.stderr)
        try:
            yield path, load(path)
        except RecordingError as error:
            print(f"{str(error).splitlines()[0]} (skipped: {shown(path)})", file=sys.stderr)


def table(rows: list[list[str]]) -> list[str]:
    """Rows as left-aligned columns, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def summary(recording: Recording) -> list[str]:
    request, response = recording["request"], recording["response"]
    answer = reply(recording)
    preview = (
        answer.error or answer.text or "; ".join(f"-> {c.name}({c.arguments})" for c in answer.tool_calls)
    )
    preview = " ".join(masked(preview).split())  # masked before it is cut short
    return [
        request.get("endpoint", ""),
        model(recording) or "-",
        "stream" if response.get("is_streaming") else "plain",
        str(len(payloads(response))) if response.get("is_streaming") else "-",
        str(response.get("status")),
        preview[:48] + ("…" if len(preview) > 48 else ""),
    ]


def list_rows(
    directory: Path, endpoint: str | None, model: str | None, text: str | None, prices: Prices | None = None
) -> list[str]:
    """One row per recording; with ``prices``, the tokens and dollars of each and their total too."""
    rows = [["KEY", "ENDPOINT", "MODEL", "BODY", "CHUNKS", "STATUS", "REPLY"]]
    ledger = Ledger()
    for path, recording in recordings(directory):
        row = [path.name.removesuffix(".json")[:12], *summary(recording)]
        if (endpoint and endpoint not in row[1]) or (model and model not in row[2]):
            continue
        if text and text.lower() not in json.dumps(recording, ensure_ascii=False).lower():
            continue
        if prices is not None:
            row[-1:-1] = cost_cells(recording, prices, ledger)
        rows.append(row)
    if prices is not None:
        rows[0][-1:-1] = ["USAGE MODEL", "TOKENS IN", "TOKENS OUT", "$"]
    return [
        *table(rows),
        f"{len(rows) - 1} recordings",
        *([] if prices is None else total_lines(ledger, prices)),
    ]


def cost_cells(recording: Recording, prices: Prices, ledger: Ledger) -> list[str]:
    """The model a recording's usage names, its tokens in and out, and their dollars (blank when the
    model has no price); its tokens are added to ``ledger``."""
    found = tokens_of(recording)
    if found is None:
        return ["-", "-", "-", ""]
    name, tokens = found
    ledger.add(name, tokens)
    price = prices.price(name) if name else None
    return [
        name or "-",
        f"{tokens.input:,}",
        f"{tokens.output:,}",
        "" if price is None else dollars(price.of(tokens)),
    ]


def total_lines(ledger: Ledger, prices: Prices) -> list[str]:
    """``total: N tokens (I in, O out) ≈ $X.XX``, and the models without a price."""
    cost = ledger.cost(prices)
    line = f"total: {counted(ledger.total())}" + (f" ≈ {dollars(cost.dollars)}" if cost.by_model else "")
    return [line, *([f"unpriced: {', '.join(cost.unpriced)}"] if cost.unpriced else [])]


def show_lines(path: Path) -> list[str]:
    recording = masked_value(load(path))  # what is printed holds no credential
    request = recording["request"]
    lines = [shown(path), f"{request.get('method')} {request.get('url')}  model {model(recording)!r}"]
    if recording.get("test_id"):
        lines.append(f"test {recording['test_id']}")
    if tools(request):
        lines.append(f"tools offered: {', '.join(tools(request))}")
    lines.append("")
    for role, text in messages(request):
        lines += _block(f"{role}:", text)
    lines.append("")
    return lines + reply_lines(reply(recording), recording["response"])


def reply_lines(answer: Reply, response: StoredResponse) -> list[str]:
    kind = f"streamed, {len(payloads(response))} chunks" if response.get("is_streaming") else "not streamed"
    lines = [f"reply ({response.get('status')}, {kind}):"]
    if answer.error:
        lines.append(f"  {answer.error}")
    if answer.reasoning:
        lines += _block("  reasoning:", answer.reasoning)
    if answer.text:
        lines += _block("  text:", answer.text)
    lines += [f"  tool call{f' {c.id}' if c.id else ''}: {c.name}({c.arguments})" for c in answer.tool_calls]
    if answer.finish:
        lines.append(f"  finish: {answer.finish}")
    if answer.usage:
        lines.append(f"  usage: {json.dumps(answer.usage)}")
    return lines


def _block(label: str, text: str) -> list[str]:
    first, *rest = text.splitlines() or [""]
    indent = " " * (len(label) + 1)
    return [f"{label} {first}", *(f"{indent}{line}" for line in rest)]


def diff_lines(a: Path, b: Path) -> list[str]:
    left, right = masked_value(load(a)), masked_value(load(b))  # what is printed holds no credential
    fields = ("method", "endpoint", "body")
    old = {f: left["request"].get(f) for f in fields}
    new = {f: right["request"].get(f) for f in fields}
    changes = json_diff(old, new, "request")
    lines = [f"A: {shown(a)}", f"B: {shown(b)}", "", "request (A != B):"]
    lines += [f"  {line}" for line in changes] or ["  identical"]
    lines += ["", "replies:"]
    left_lines = _wrapped(reply_lines(reply(left), left["response"]))
    right_lines = _wrapped(reply_lines(reply(right), right["response"]))
    width = max(len(line) for line in left_lines) + 2
    for index in range(max(len(left_lines), len(right_lines))):
        one = left_lines[index] if index < len(left_lines) else ""
        two = right_lines[index] if index < len(right_lines) else ""
        lines.append(f"  A {one.ljust(width)}| B {two}".rstrip())
    return lines


def _wrapped(lines: list[str], width: int = 56) -> list[str]:
    return [part for line in lines for part in textwrap.wrap(line, width, subsequent_indent="    ") or [""]]


def explain_lines(
    request: dict[str, Any], matching: Matching, test_id: str | None, directory: Path
) -> list[str]:
    method, endpoint, body = request.get("method", "POST"), request.get("endpoint", ""), request.get("body")
    query = url_query(str(request.get("url", ""))) if body is None else ()
    shown_body = masked_value(matching.apply(body))  # what is printed holds no credential
    material = canonical_json(key_material(method, endpoint, shown_body, test_id, query))
    key = request_key(method, endpoint, matching.apply(body), test_id, query)
    where = Store(directory).path(key)
    return [
        f"matching: {'strict (the whole body counts)' if matching.strict else json.dumps(matching.stored())}",
        f"key material: {material}",
        f"key: {key}",
        f"file: {shown(where)} ({'exists' if where.exists() else 'absent'})",
    ]


def request_of(path: Path, method: str | None, endpoint: str | None) -> tuple[dict[str, Any], str | None]:
    """The request a file describes: a recording's, a request object, or a bare body."""
    data = orjson.loads(path.read_bytes())
    if isinstance(data, dict) and isinstance(data.get("request"), dict):
        return data["request"], data.get("test_id")
    if isinstance(data, dict) and "body" in data and ("endpoint" in data or "url" in data):
        return {**data, "endpoint": data.get("endpoint") or urlsplit(data["url"]).path}, None
    if not endpoint:
        raise LlmtapeError(
            f"llmtape: {path} holds a bare body; say where it goes with --endpoint /v1/chat/completions"
        )
    return {"method": method or "POST", "endpoint": endpoint, "body": data}, None
