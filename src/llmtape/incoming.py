"""An intercepted request as llmtape sees it: its body with credentials redacted (the JSON sent, or the
stored form of a multipart, text or binary body), the sidecar files that body names, and its key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from llmtape.compression import Undecodable, decoded
from llmtape.errors import UnsupportedRequest
from llmtape.format import multipart
from llmtape.keys import request_key, url_query
from llmtape.matching import Matching
from llmtape.secrets import redact


@dataclass(frozen=True, slots=True)
class Incoming:
    """One request: what is stored of it, its key, and which repeat of that key in its test it is."""

    method: str
    url: str  # credentials redacted
    endpoint: str
    headers: httpx.Headers
    body: Any  # the parsed JSON (or the typed form of another body), credentials redacted
    key: str
    occurrence: int  # 1 for the first request with this key in the test, 2 for a repeat...
    path: Path  # where its recording lives (or would), in its test's directory
    files: Mapping[str, bytes] = field(default_factory=dict)  # the sidecars the body names, by name

    @property
    def name(self) -> str:
        """The recording's file name, without ``.json``."""
        return self.path.stem

    @property
    def model(self) -> Any:
        return self.body.get("model") if isinstance(self.body, dict) else None


def request_body(request: httpx.Request) -> tuple[Any, multipart.Files]:
    """The request's body as stored (None when it has none), decoded per its ``content-encoding`` first:
    its JSON, else its typed form (``multipart``), with the bytes of the sidecars that form names."""
    content = request.content
    if not content:
        return None, {}
    try:
        content = decoded(content, request.headers.get_list("content-encoding", split_commas=True))
    except Undecodable as error:
        raise UnsupportedRequest(
            f"llmtape: the request body is compressed, but {error}, so it has no recording key; "
            "send it uncompressed, or disable llmtape for this test with @pytest.mark.llmtape(enabled=False)",
            method=request.method,
            url=str(request.url),
        ) from None
    try:
        return multipart.stored_body(content, request.headers.get("content-type", ""))
    except multipart.Malformed as error:
        raise UnsupportedRequest(
            f"llmtape: the request's multipart/form-data body is malformed ({error}), so it has no "
            "recording key; send it as the multipart standard says (a boundary in the content-type, each "
            "part between boundary lines), or disable llmtape for this test with "
            "@pytest.mark.llmtape(enabled=False)",
            method=request.method,
            url=str(request.url),
        ) from None


def key_of(
    request: httpx.Request,
    url: str,
    endpoint: str,
    secrets: dict[str, str],
    matching: Matching,
    test_id: str | None,
) -> tuple[Any, multipart.Files, str]:
    """The redacted body, its sidecar files and the key of ``request``, whose redacted ``url`` and
    ``endpoint`` (URL path) are given: (body, files, key)."""
    # Credentials from the environment never reach a key or a file: they are redacted first (a sidecar
    # holds bytes as they were sent: the secret gate refuses one that holds a credential).
    body, files = request_body(request)
    body = redact(body, secrets)
    query = url_query(url, bodyless=body is None)
    return body, files, request_key(request.method, endpoint, matching.apply(body), test_id, query)
