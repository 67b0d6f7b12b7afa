"""Stable ids: the ids and times a provider makes up on every call, replaced in record mode by stand-ins
derived from the recording's key, so that recording the same conversation twice writes the same files.

The stand-ins replace the real values before the caller sees them; when the caller sends one back (a tool
call id, ``previous_response_id``, a file id in a URL), the live request carries the real one again.

- **Ids.** A string under an id-like key (``id``, ``*_id``, ``*Id``, the elements of ``*_ids`` and ``*Ids``
  lists; never ``*model_id``, ``*modelId``, ``system_fingerprint``, nor anything in a model list's entry,
  ``{"object": "model"}``) that looks generated: a UUID, bare or after any prefix (``chatcmpl-<uuid>``,
  ``call__0_search_cmpl-<uuid>``); lowercase words ending in ``-`` or ``_`` (``chatcmpl-``, ``toolu_bdrk_``,
  ``get_weather_``) then 12 or more letters and digits with a digit or both cases among them, or 8 or
  more after a prefix providers use for per-call ids (``call_``, ``msg_``, ``resp_``, ``file-``, ``vs_``,
  ``batch_``, ``req_``...); ``tooluse_`` then base64url (Bedrock); 24 or more letters and digits with a
  digit or both cases. Under ``responseId`` (Gemini), ``generation_id`` (Cohere) and ``toolUseId``
  (Bedrock), any string of 8 or more characters without spaces. A model id (``gpt-4o-mini-2024-07-18``,
  ``claude-3-5-sonnet-20241022``, ``text-embedding-3-small``) has words or digits between its hyphens and
  never matches. An id the caller itself put in the request that brought the answer is its own, and stays
  as it is in that answer and later ones; so does anything the model wrote into a tool call
  (``arguments``, ``input``, ``args``), an object's ``metadata``, and a model list's entries.
- **Stand-ins.** The same prefix and length; the rest drawn from the smallest of digits, lowercase hex,
  uppercase hex, lowercase letters and digits, uppercase letters and digits, letters and digits that holds
  the real one, with its other characters (a UUID's dashes) in place; in a base64url id (Gemini's, Bedrock's)
  ``-`` and ``_`` are drawn too. The characters come from ``sha256(f"{key}:{n}")``, ``key`` naming the
  recording and ``n`` the id's position among the new ids of the answer. Same length, so a request's
  Content-Length stays right when ids are swapped back.
- **Consistency.** A real id seen again, later in a stream or in a later answer of the same test, keeps its
  stand-in; every string of an answer that contains a known real id (a URL, an annotation, a tool call's
  arguments) has it replaced.
- **Times.** ``created``, ``created_at``, ``createdAt``, ``completed_at``, ``started_at``, ``expires_at``,
  ``finished_at``, ``cancelled_at``, ``failed_at``, ``last_active_at``, ``in_progress_at``, ``ended_at``,
  ``archived_at``, ``cancel_initiated_at``, ``createTime``, ``updateTime``, ``expireTime`` (outside a model
  list's entries, whose times are the model's) holding epoch
  seconds (10^9 to 10^11), epoch milliseconds (10^12 to 10^14) or an ISO-8601 string become
  ``base(key) + n`` seconds, in the same format (an ISO string keeps its separator, its count of fraction
  digits, which become zeros, and its ``Z`` or offset); ``base`` falls in 2024, ``n`` numbers the distinct
  (place, value) pairs of the answer in order of appearance, a place being the path from the data's root.
  So a stream's chunks repeating one ``created`` share one stand-in, while ``created_at`` and
  ``completed_at`` differ whether or not the real call took less than a second. null, 0 and other
  numbers stay.
- **Padding.** The ``obfuscation`` field of OpenAI's Responses stream events, random text of a random
  length that pads each event against side channels and that no client reads, is dropped.
- **Headers.** ``x-request-id``, ``request-id``, ``x-amzn-requestid``, ``x-amz-request-id``,
  ``apim-request-id``, ``cf-ray`` and ``x-debug-trace-id`` get a stand-in of the same shape derived from
  ``f"{key}:{header name}"`` (the body's own id when the header repeats it); known ids in any header
  (``location``) are replaced.
"""

from __future__ import annotations

import hashlib
import re
import string
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

PADDING = "obfuscation"
# What the model writes into a tool call (OpenAI and Ollama ``arguments``, Anthropic ``input``, Gemini
# ``args``) and an object's own metadata: the application's data, whose ids and times stay as they are.
FREE_FORM = frozenset({"arguments", "args", "input", "parameters", "metadata"})
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_UUID_ID = re.compile(rf"(?P<prefix>(?:[A-Za-z0-9_.:/-]*[-_.:/])?)(?P<body>{_UUID})")
_WORDS_ID = re.compile(
    r"(?P<prefix>(?P<first>[a-z][a-z0-9]*)[-_](?:[a-z][a-z0-9]*[-_])*)(?P<body>[A-Za-z0-9]+)"
)
_BASE64URL_ID = re.compile(r"(?P<prefix>tooluse_)(?P<body>[A-Za-z0-9_-]{8,})")
_BARE_ID = re.compile(r"[A-Za-z0-9]{24,}")
# The first word of the prefixes providers put on per-call ids, after which 8 characters suffice.
_PER_CALL_PREFIXES = frozenset(
    {"chatcmpl", "cmpl", "call", "toolu", "srvtoolu", "msg", "resp", "rs", "fc", "fs", "ws", "ci", "mcp"}
    | {"ig", "file", "vs", "vsfb", "asst", "thread", "run", "step", "conv", "batch", "req", "tooluse"}
    | {"ftjob", "ftevent", "evt", "item", "cntr", "container", "upload", "part", "img"}
)
_ANY_SHAPE_KEYS = frozenset({"responseId", "generation_id", "toolUseId"})
_NOT_ID_KEYS = frozenset({"system_fingerprint"})
_TIME_KEYS = frozenset(
    {"created", "created_at", "createdAt", "completed_at", "started_at", "expires_at", "finished_at"}
    | {"cancelled_at", "failed_at", "last_active_at", "in_progress_at", "ended_at", "archived_at"}
    | {"cancel_initiated_at", "createTime", "updateTime", "expireTime"}
)
_REQUEST_ID_HEADERS = frozenset(
    {"x-request-id", "request-id", "x-amzn-requestid", "x-amz-request-id", "apim-request-id", "cf-ray"}
    | {"x-debug-trace-id"}
)
_LETTERS = ("", "abcdef", "ABCDEF", string.ascii_lowercase, string.ascii_uppercase, string.ascii_letters)
_ALPHABETS = tuple(string.digits + letters for letters in _LETTERS)  # smallest first
_ALNUM = frozenset(string.ascii_letters + string.digits)
_BASE64URL = _ALNUM | {"-", "_"}
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}(?P<sep>[T ])\d{2}:\d{2}:\d{2}(?:\.(?P<fraction>\d+))?(?P<zone>Z|[+-]\d\d:?\d\d)?"
)
_BASE_EPOCH = 1704067200  # 2024-01-01T00:00:00Z
_BASE_SPREAD = 366 * 86400


@dataclass(frozen=True)
class _Shape:
    prefix: str
    body: str
    loose: bool = False  # "-" and "_" are random characters of the body (base64url), not separators


class Ids:
    """The stable stand-ins of one test's recorded calls: real id <-> stable id (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stand_ins: dict[str, str] = {}  # real -> stand-in
        self._reals: dict[str, str] = {}  # stand-in -> real
        self._own: set[str] = set()  # ids the caller sent before any answer held them
        # Compiled on first use after ids were added: real ids (into answers), stand-ins (out).
        self._incoming_re: re.Pattern[str] | None = None
        self._outgoing: re.Pattern[bytes] | None = None
        self._outgoing_url: re.Pattern[str] | None = None

    def answer(self, key: str, *, sent: bytes = b"") -> Answer:
        """The replacer for one recorded answer; ``key`` names that recording (its request key and
        occurrence), ``sent`` is the request that brought it (URL path and body), whose own ids stay."""
        return Answer(self, key, sent)

    def outgoing(self, text: bytes) -> bytes:
        """``text`` with every stand-in this test handed out turned back into its real id; the very
        object given when it holds none."""
        with self._lock:
            if not self._reals:
                return text
            if self._outgoing is None:
                self._outgoing = re.compile(_alternation(self._reals).encode())
            if self._outgoing.search(text) is None:
                return text
            return self._outgoing.sub(lambda match: self._reals[match[0].decode()].encode(), text)

    def outgoing_url(self, url: str) -> str:
        """The URL with its stand-ins turned back into real ids; the very string given when it holds none."""
        with self._lock:
            if not self._reals:
                return url
            if self._outgoing_url is None:
                self._outgoing_url = re.compile(_alternation(self._reals))
            return _replaced(self._outgoing_url, self._reals, url)

    def _incoming(self, text: str) -> str:
        if not self._stand_ins:
            return text
        if self._incoming_re is None:
            self._incoming_re = re.compile(_alternation(self._stand_ins))
        return _replaced(self._incoming_re, self._stand_ins, text)

    def _issue(self, real: str, shape: _Shape, seed: str) -> str:
        stand_in, attempt = _stand_in(shape, seed), 0
        while stand_in in self._reals or stand_in in self._stand_ins:
            attempt += 1
            stand_in = _stand_in(shape, f"{seed}:{attempt}")
        self._stand_ins[real], self._reals[stand_in] = stand_in, real
        self._incoming_re = self._outgoing = self._outgoing_url = None
        return stand_in


class Answer:
    """The replacements in one recorded answer: its body's data (or its stream chunks' data, in order)
    and its headers."""

    def __init__(self, ids: Ids, key: str, sent: bytes) -> None:
        self._ids, self._key, self._sent = ids, key, sent
        self._new = 0
        self._times: dict[tuple[tuple[str | int, ...], Any], int] = {}
        self._base = _base(key)

    def data(self, value: Any) -> Any:
        """A JSON value with its ids and times replaced; containers that change are new, the rest are
        the objects given."""
        with self._ids._lock:
            self._discover(value)
            rebuilt = self._rebuilt(value, ())
        if isinstance(rebuilt, dict) and isinstance(rebuilt.get(PADDING), str):
            return {key: item for key, item in rebuilt.items() if key != PADDING}
        return rebuilt

    def headers(self, headers: dict[str, str]) -> dict[str, str]:
        """The headers with request ids replaced and known ids inside any value replaced; best called after
        the body's data, whose ids a ``location`` may hold."""
        with self._ids._lock:
            replaced = {name: self._header(name.lower(), value) for name, value in headers.items()}
            return headers if replaced == headers else replaced

    def _header(self, name: str, value: str) -> str:
        if name in _REQUEST_ID_HEADERS and value not in self._ids._stand_ins and _spaceless(value, 8):
            self._ids._issue(value, _generated("id", value) or _Shape("", value), f"{self._key}:{name}")
        return self._ids._incoming(value)

    def _discover(self, value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                self._discover(item)
        elif isinstance(value, dict) and not _is_model(value):
            for key, item in value.items():
                if key in FREE_FORM:
                    continue  # what the model wrote into a tool call is the application's data
                if isinstance(item, str) and _is_id_key(key):
                    self._found(key, item)
                elif isinstance(item, list) and _is_ids_key(key):
                    for element in item:
                        if isinstance(element, str):
                            self._found(key, element)
                else:
                    self._discover(item)

    def _found(self, key: str, value: str) -> None:
        ids = self._ids
        if value in ids._stand_ins or value in ids._own or (shape := _generated(key, value)) is None:
            return
        if value.encode() in self._sent:
            ids._own.add(value)
            return
        ids._issue(value, shape, f"{self._key}:{self._new}")
        self._new += 1

    def _rebuilt(self, value: Any, path: tuple[str | int, ...], free: bool = False) -> Any:
        """``value`` with known ids replaced and, outside what the model wrote into a tool call (``free``)
        and a model's own entry, its times."""
        if isinstance(value, str):
            return self._ids._incoming(value)
        if isinstance(value, list):
            items = [self._rebuilt(item, (*path, index), free) for index, item in enumerate(value)]
            return items if any(new is not old for new, old in zip(items, value, strict=True)) else value
        if isinstance(value, dict):
            timed = not free and not _is_model(value)
            pairs = {
                key: self._time((*path, key), item)
                if timed and key in _TIME_KEYS
                else self._rebuilt(item, (*path, key), free or key in FREE_FORM)
                for key, item in value.items()
            }
            return pairs if any(pairs[key] is not item for key, item in value.items()) else value
        return value

    def _time(self, path: tuple[str | int, ...], value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            unit = 1 if 10**9 <= value < 10**11 else 1000 if 10**12 <= value < 10**14 else 0
            return self._moment(path, value) * unit if unit else value
        match = _ISO.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            return self._rebuilt(value, path)
        return _iso(self._moment(path, value), match)

    def _moment(self, path: tuple[str | int, ...], value: Any) -> int:
        return self._base + self._times.setdefault((path, value), len(self._times))


def _is_model(value: dict[str, Any]) -> bool:
    """A model's entry in a model list (OpenAI's ``object``, Anthropic's ``type``): its id and date are
    the model's, not made up per call."""
    return value.get("object") == "model" or value.get("type") == "model"


@lru_cache(maxsize=2048)
def _is_id_key(key: str) -> bool:
    if key in _NOT_ID_KEYS or key.endswith(("model_id", "modelId")):
        return False
    return key == "id" or key.endswith(("_id", "Id", "ID"))


@lru_cache(maxsize=2048)
def _is_ids_key(key: str) -> bool:
    return key.endswith(("_ids", "Ids", "IDs")) and not key.endswith(("model_ids", "modelIds"))


def _spaceless(value: str, least: int) -> bool:
    return len(value) >= least and not any(character.isspace() for character in value)


def _generated(key: str, value: str) -> _Shape | None:
    """The prefix and random body of an id the provider made up, or None for anything else."""
    if key in _ANY_SHAPE_KEYS:
        return _any_shape(value) if _spaceless(value, 8) else None
    if match := _UUID_ID.fullmatch(value):
        return _Shape(match["prefix"], match["body"])
    if match := _BASE64URL_ID.fullmatch(value):
        return _Shape(match["prefix"], match["body"], loose=True)
    if match := _WORDS_ID.fullmatch(value):
        body = match["body"]
        per_call = match["first"] in _PER_CALL_PREFIXES and len(body) >= 8
        return _Shape(match["prefix"], body) if per_call or (len(body) >= 12 and _random(body)) else None
    return _Shape("", value) if _BARE_ID.fullmatch(value) and _random(value) else None


def _any_shape(value: str) -> _Shape:
    if match := _UUID_ID.fullmatch(value):
        return _Shape(match["prefix"], match["body"])
    if match := _BASE64URL_ID.fullmatch(value):
        return _Shape(match["prefix"], match["body"], loose=True)
    return _Shape("", value, loose=True)


def _random(body: str) -> bool:
    """Whether letters and digits look drawn at random: a digit among them, or both cases."""
    return any(c.isdigit() for c in body) or (
        any(c.islower() for c in body) and any(c.isupper() for c in body)
    )


def _stand_in(shape: _Shape, seed: str) -> str:
    drawn = _BASE64URL if shape.loose else _ALNUM
    present = set(shape.body) & _ALNUM
    alphabet = next((a for a in _ALPHABETS if present <= set(a)), _ALPHABETS[-1])
    stream = _bytes(seed, len(shape.body))
    return shape.prefix + "".join(
        alphabet[byte % len(alphabet)] if character in drawn else character
        for character, byte in zip(shape.body, stream, strict=True)
    )


def _bytes(seed: str, count: int) -> bytes:
    block = hashlib.sha256(seed.encode()).digest()
    blocks = [block]
    while len(blocks) * len(block) < count:
        blocks.append(block := hashlib.sha256(block).digest())
    return b"".join(blocks)[:count]


def _replaced(pattern: re.Pattern[str], replacements: dict[str, str], text: str) -> str:
    return text if pattern.search(text) is None else pattern.sub(lambda match: replacements[match[0]], text)


def _alternation(texts: dict[str, str]) -> str:
    return "|".join(re.escape(text) for text in sorted(texts, key=len, reverse=True))


def _base(key: str) -> int:
    """The first stand-in time of the recording ``key``: a second of 2024 drawn from the key."""
    return _BASE_EPOCH + int.from_bytes(hashlib.sha256(f"time:{key}".encode()).digest()[:8]) % _BASE_SPREAD


def _iso(seconds: int, match: re.Match[str]) -> str:
    zone = match["zone"] or ""
    minutes = 0 if zone in ("", "Z") else int(zone[1:3]) * 60 + int(zone[-2:])
    offset = timedelta(minutes=-minutes if zone.startswith("-") else minutes)
    moment = datetime.fromtimestamp(seconds, timezone(offset))
    fraction = "." + "0" * len(match["fraction"]) if match["fraction"] else ""
    return moment.strftime(f"%Y-%m-%d{match['sep']}%H:%M:%S") + fraction + zone
