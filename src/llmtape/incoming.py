"""An intercepted request as llmtape sees it: its JSON body with credentials redacted, and its key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from llmtape.compression import Undecodable, decoded
from llmtape.errors import UnsupportedRequest
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
    body: Any  # the parsed JSON, credentials redacted
    key: str
    occurrence: int  # 1 for the first request with this key in the test, 2 for a repeat...
    path: Path  # where its recording lives (or would), in its test's directory

    @property
    def name(self) -> str:
        """The recording's file name, without ``.json``."""
        return self.path.stem

    @property
    def model(self) -> Any:
        return self.body.get("model") if isinstance(self.body, dict) else None


def json_body(request: httpx.Request) -> Any:
    """The request's JSON body (None when it has none), decoded per its ``content-encoding`` first;
    anything else cannot be keyed."""
    content = request.content
    if not content:
        return None
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
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        raise UnsupportedRequest(
            "llmtape: the request body is not JSON, so it has no recording key; "
            "leave this endpoint out of llmtape_endpoints or disable llmtape for this test "
            "with @pytest.mark.llmtape(enabled=False)",
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
) -> tuple[Any, str]:
    """The redacted body and the key of ``request``, whose redacted ``url`` and ``endpoint`` (URL path) are
    given: (body, key)."""
    # Credentials from the environment never reach a key or a file: they are redacted first.
    body = redact(json_body(request), secrets)
    query = url_query(url, bodyless=body is None)
    return body, request_key(request.method, endpoint, matching.apply(body), test_id, query)
