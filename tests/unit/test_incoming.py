"""A request's JSON body as it is keyed: decoded per its content-encoding first."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

import brotli
import httpx
import orjson
import pytest

from llmtape.errors import UnsupportedRequest
from llmtape.incoming import request_body

BODY = {"model": "m", "messages": [{"role": "user", "content": "Grüß dich"}]}
PLAIN = orjson.dumps(BODY)


def sent(content: bytes, encoding: str | None) -> httpx.Request:
    headers = {"content-type": "application/json", **({"content-encoding": encoding} if encoding else {})}
    return httpx.Request("POST", "http://api.test/v1/chat/completions", headers=headers, content=content)


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", raw_deflate),  # the raw form some clients send under the same name
        ("br", brotli.compress),
        ("zstd", lambda data: pytest.importorskip("zstandard").ZstdCompressor().compress(data)),
        ("identity", lambda data: data),
        ("gzip, br", lambda data: brotli.compress(gzip.compress(data))),  # applied in the order listed
    ],
)
def test_a_compressed_body_is_decoded_before_keying(
    encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    assert request_body(sent(compress(PLAIN), encoding)) == (BODY, {})


def test_an_unknown_encoding_cannot_be_keyed_and_says_which() -> None:
    with pytest.raises(UnsupportedRequest) as raised:
        request_body(sent(PLAIN, "compress"))
    assert "content-encoding 'compress'" in str(raised.value)


def test_a_body_that_does_not_decompress_says_so() -> None:
    with pytest.raises(UnsupportedRequest) as raised:
        request_body(sent(PLAIN, "gzip"))
    assert "cannot be decoded as gzip" in str(raised.value)
