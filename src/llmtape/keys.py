"""The recording key: which file a request is stored in.

The key is a file format. Changing anything here renames every user's recordings,
so the rule is pinned by golden tests and written down in the README:

    key = sha256(canonical_json({"method": METHOD, "endpoint": URL path, "body": normalize(body)}))

In the per-test scope the material also holds ``"test": <pytest node id>``.

``normalize`` rounds every float to 5 decimals; ``canonical_json`` sorts object keys,
uses ``(",", ":")`` separators and keeps non-ASCII characters as UTF-8.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

FLOAT_DECIMALS = 5


def normalize(value: Any) -> Any:
    """Return a copy of a JSON value with every float rounded to 5 decimals."""
    if isinstance(value, float):
        return round(value, FLOAT_DECIMALS)
    if isinstance(value, dict):
        return {key: normalize(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalize(item) for item in value]
    return value


def key_material(method: str, endpoint: str, body: Any, test: str | None = None) -> dict[str, Any]:
    """The object whose canonical JSON is hashed into the key; ``test`` only in the per-test scope."""
    material = {"method": method.upper(), "endpoint": endpoint, "body": normalize(body)}
    return material if test is None else {**material, "test": test}


def canonical_json(value: Any) -> str:
    """Serialize a JSON value with sorted keys and no insignificant whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_key(method: str, endpoint: str, body: Any, test: str | None = None) -> str:
    """The sha256 hex key of a request: the name of its recording file, without ``.json``."""
    material = canonical_json(key_material(method, endpoint, body, test))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def file_name(key: str, occurrence: int) -> str:
    """The file (no ``.json``) of the n-th identical request in a test: ``key``, ``key.2``, ..."""
    return key if occurrence == 1 else f"{key}.{occurrence}"
