"""The recording key: which file a request is stored in.

The key is a file format. Changing anything here renames every user's recordings,
so the rule is pinned by golden tests and written down in the README:

    key = sha256(canonical_json({"method": METHOD, "endpoint": URL path, "body": normalize(body)}))

In the per-test scope the material also holds ``"test": <pytest node id>``. A request without a body
(``GET /v1/models?after=...``) also holds ``"query": [[name, value], ...]``: its query parameters, sorted,
without credentials and ``api-version``, when there are any; a request with a body holds only those that
choose the answer's wire format (``alt``: Gemini's ``alt=sse``). The URL path and the query are taken
after credentials from the environment were redacted, as they are stored.

The ``file_ids`` of a vector-store file batch (``POST .../vector_stores/{id}/file_batches``) are keyed
sorted: the SDK's ``upload_and_poll`` lists them in the order its concurrent uploads finish.

``normalize`` rounds every float to 5 decimals; ``canonical_json`` sorts object keys,
uses ``(",", ":")`` separators and keeps non-ASCII characters as UTF-8.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from llmtape.format.recording import SECRET_QUERY_PARAMS

FLOAT_DECIMALS = 5
# Query parameters that never join a key: credentials (never stored either) and the API version.
UNKEYED_QUERY_PARAMS = SECRET_QUERY_PARAMS | {"api-version"}
# Query parameters that choose the wire format of the answer: they join the key of any request.
FORMAT_QUERY_PARAMS = frozenset({"alt"})
Query = Sequence[tuple[str, str]]
# Requests whose list field is a set, in an order that varies from run to run: (endpoint, field).
_UNORDERED = ((re.compile(r".*/vector_stores/[^/]+/file_batches"), "file_ids"),)


def normalize(value: Any) -> Any:
    """Return a copy of a JSON value with every float rounded to 5 decimals."""
    if isinstance(value, float):
        return round(value, FLOAT_DECIMALS)
    if isinstance(value, dict):
        return {key: normalize(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalize(item) for item in value]
    return value


def url_query(url: str, *, bodyless: bool = True) -> list[tuple[str, str]]:
    """The query parameters of ``url`` that join the key, sorted: all but credentials and the API version
    for a bodyless request, those that choose the wire format for one with a body."""
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    if not bodyless:
        return sorted((name, value) for name, value in pairs if name.lower() in FORMAT_QUERY_PARAMS)
    return sorted((name, value) for name, value in pairs if name.lower() not in UNKEYED_QUERY_PARAMS)


def key_material(
    method: str, endpoint: str, body: Any, test: str | None = None, query: Query = ()
) -> dict[str, Any]:
    """The object whose canonical JSON is hashed into the key; ``test`` only in the per-test scope,
    ``query`` when there is one (see :func:`url_query`)."""
    material: dict[str, Any] = {
        "method": method.upper(),
        "endpoint": endpoint,
        "body": normalize(_ordered(method, endpoint, body)),
    }
    if query:
        material["query"] = [list(pair) for pair in query]
    return material if test is None else {**material, "test": test}


def _ordered(method: str, endpoint: str, body: Any) -> Any:
    """The body with each list that is a set sorted (see ``_UNORDERED``)."""
    if method.upper() != "POST" or not isinstance(body, dict):
        return body
    for pattern, field in _UNORDERED:
        values = body.get(field)
        if (
            pattern.fullmatch(endpoint)
            and isinstance(values, list)
            and all(isinstance(v, str) for v in values)
        ):
            body = {**body, field: sorted(values)}
    return body


def canonical_json(value: Any) -> str:
    """Serialize a JSON value with sorted keys and no insignificant whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_key(method: str, endpoint: str, body: Any, test: str | None = None, query: Query = ()) -> str:
    """The sha256 hex key of a request: the name of its recording file, without ``.json``."""
    material = canonical_json(key_material(method, endpoint, body, test, query))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def file_name(key: str, occurrence: int) -> str:
    """The file (no ``.json``) of the n-th identical request in a test: ``key``, ``key.2``, ..."""
    return key if occurrence == 1 else f"{key}.{occurrence}"
