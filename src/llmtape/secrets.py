"""The secret gate: credentials from the environment are redacted before anything is keyed or written,
a write that would still contain something shaped like a credential is refused, and every message
llmtape prints is masked the same way.

A credential variable's value is redacted in each form it can take on the wire: as it is,
URL-encoded, JSON-escaped, and base64-encoded at any alignment (so ``Basic`` credentials of any
user name are caught). A stream is also checked as its texts put together: a secret the server
sent a few characters per chunk is redacted across the chunks.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from llmtape.format.recording import Recording, scrub_url
from llmtape.jsonvalue import map_strings
from llmtape.shapes import credential_shapes, masked_shapes

CREDENTIAL_VARIABLE = re.compile(r".+_(API_KEY|KEY|TOKEN|SECRET|PASSWORD)$")
MIN_SECRET_LENGTH = 8
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s'\"<>`]+", re.IGNORECASE)
_PERCENT = re.compile(r"%[0-9A-F]{2}")
_URLSAFE = str.maketrans("+/", "-_")


def environment_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """Every wire form of the values of variables named like credentials (``*_API_KEY``, ``*_KEY``,
    ``*_TOKEN``, ``*_SECRET``, ``*_PASSWORD``), each mapped to its placeholder ``<VARIABLE_NAME>``;
    longest first. The mapping is shared: do not change it."""
    # Read on every request (a test may set its key at any time), so only the names are matched,
    # each once per process, and the forms are derived only when the values change.
    variables = tuple((name, environ.get(name, "")) for name in environ if _credential_name(name))
    return _forms(variables)


@functools.cache
def _credential_name(name: str) -> bool:
    return CREDENTIAL_VARIABLE.fullmatch(name) is not None


def _secret_value(name: str, value: str) -> bool:
    if len(value) < MIN_SECRET_LENGTH:
        return False
    if name.endswith("_KEY") and not name.endswith("_API_KEY"):
        # A bare *_KEY also names settings (SORT_KEY=created_at): its value must look like a key.
        return sum(any(test(c) for c in value) for test in (str.isupper, str.islower, str.isdigit)) >= 2
    return True


@functools.lru_cache(maxsize=16)
def _forms(variables: tuple[tuple[str, str], ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in variables:
        if _secret_value(name, value):
            for form in wire_forms(value):
                found.setdefault(form, f"<{name}>")
    return dict(sorted(found.items(), key=lambda item: (-len(item[0]), item[0])))  # the same in every process


def wire_forms(value: str) -> set[str]:
    """The ways ``value`` can appear in a request or a response: as it is, JSON-escaped,
    URL-encoded, and the parts of its base64 encoding that it alone determines."""
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    for encoded in (quote(value, safe=""), quote(value), quote_plus(value)):
        forms |= {encoded, _PERCENT.sub(lambda m: m[0].lower(), encoded)}
    data = value.encode("utf-8")
    for shift in range(3):  # where the value starts in a base64 group: after "user:", whatever its length
        encoded = base64.b64encode(b"\0" * shift + data).decode("ascii")
        core = encoded[-(-8 * shift // 6) : 8 * (shift + len(data)) // 6]
        forms |= {core, core.translate(_URLSAFE)}
    return forms


def redact(value: Any, secrets: Mapping[str, str]) -> Any:
    """A copy of a JSON value with every occurrence of each secret replaced by ``<VARIABLE_NAME>``."""
    if not secrets:
        return value

    def change(text: str) -> str:
        for secret, placeholder in secrets.items():
            text = text.replace(secret, placeholder)
        return text

    return map_strings(value, change)


def redact_recording(recording: Recording, secrets: Mapping[str, str]) -> Recording:
    """A copy of a recording with every secret redacted, in each string and, for a stream, across
    the chunks: a secret whose pieces arrived in several chunks is replaced by its placeholder in the
    chunk where it starts and cut from the others, so the texts put together read ``<VARIABLE_NAME>``."""
    redacted: Recording = redact(recording, secrets)
    response = redacted["response"]
    if secrets and response["is_streaming"] and isinstance(response["body"], list):
        for places in _fields(response["body"]).values():
            _redact_pieces(places, secrets)
    return redacted


Place = tuple[Any, Any]  # (a dict or list, a key or index in it) that holds a string


def _fields(chunks: list[Any]) -> dict[tuple[Any, ...], list[Place]]:
    """Where each field's text is in the chunks, field by field (a JSON path within a chunk), in order."""
    found: dict[tuple[Any, ...], list[Place]] = {}

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(item, str):
                found.setdefault((*path, key), []).append((value, key))
            elif isinstance(item, dict | list):
                walk(item, (*path, key))

    for chunk in chunks:
        if isinstance(chunk, dict | list):
            walk(chunk, ())
    # A field of one chunk, or of the same text in every chunk (an id, a model), is no piece of a text.
    return {path: places for path, places in found.items() if len({c[k] for c, k in places}) > 1}


def _redact_pieces(places: list[Place], secrets: Mapping[str, str]) -> None:
    pieces = [container[key] for container, key in places]
    text = "".join(pieces)
    spans = _spans(text, secrets)
    if not spans:
        return
    start = 0
    for (container, key), piece in zip(places, pieces, strict=True):
        end, kept, position = start + len(piece), [], start
        for first, last, placeholder in spans:
            if last <= start or first >= end:
                continue
            kept.append(text[position : max(first, start)])
            if first >= start:
                kept.append(placeholder)
            position = min(last, end)
        container[key] = "".join(kept) + text[position:end]
        start = end


def _spans(text: str, secrets: Mapping[str, str]) -> list[tuple[int, int, str]]:
    """Where the secrets are in ``text``: (start, end, placeholder), longest forms first, none overlapping."""
    spans: list[tuple[int, int, str]] = []
    for secret, placeholder in secrets.items():
        at = text.find(secret)
        while at >= 0:
            end = at + len(secret)
            if all(end <= first or at >= last for first, last, _ in spans):
                spans.append((at, end, placeholder))
            at = text.find(secret, end)
    return sorted(spans)


def recording_shapes(recording: Recording) -> list[str]:
    """The credential-shaped values in a recording, masked: in each string, and in the texts of a stream
    put together field by field."""
    texts = list(_strings(recording))
    body = recording["response"]["body"]
    if recording["response"]["is_streaming"] and isinstance(body, list):
        texts += ["".join(c[k] for c, k in places) for places in _fields(body).values()]
    return credential_shapes("\0".join(texts))  # no pattern matches across a NUL: none spans two strings


def file_credentials(content: bytes, secrets: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """What of a credential a sidecar file's bytes hold (they are stored as sent, so nothing in them can
    be redacted): the environment secrets found (as ``the value of VARIABLE``), and the credential-shaped
    values (masked)."""
    text = content.decode("latin-1")
    variables = sorted({placeholder.strip("<>") for secret, placeholder in secrets.items() if secret in text})
    return [f"the value of {name}" for name in variables], credential_shapes(text)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def masked(text: str, environ: Mapping[str, str] = os.environ) -> str:
    """A message as llmtape may print it: credentials from the environment redacted, credential-shaped
    values masked (``sk-pro…``), and URLs without their credential query parameters."""
    return _masked(text, environment_secrets(environ))


def masked_value(value: Any, environ: Mapping[str, str] = os.environ) -> Any:
    """A copy of a JSON value (a recording) with each string masked as :func:`masked` masks a message:
    what is shown of it, cut short or wrapped, then holds no piece of a credential."""
    secrets = environment_secrets(environ)
    return map_strings(value, lambda text: _masked(text, secrets))


def _masked(text: str, secrets: Mapping[str, str]) -> str:
    text = redact(text, secrets)
    return _URL.sub(lambda m: scrub_url(m[0]), masked_shapes(text))
