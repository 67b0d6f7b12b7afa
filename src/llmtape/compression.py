"""Request bodies compressed by their client (``content-encoding``), decoded so that they can be keyed.

gzip and deflate are always understood; br needs ``brotli`` (or ``brotlicffi``), zstd needs
``zstandard``. Only the key and the stored request see the decoded body: the live request
still goes out with the bytes the client encoded.
"""

from __future__ import annotations

import gzip
import importlib
import zlib
from collections.abc import Callable
from typing import Any


class Undecodable(ValueError):
    """The body cannot be decoded; the message says why and what would fix it."""


def _optional(*names: str) -> Any:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise Undecodable(f"decoding it needs the {names[0]} package (pip install {names[0]})")


def _deflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:  # the raw deflate stream some clients send under the same name
        return zlib.decompress(data, -zlib.MAX_WBITS)


def _brotli(data: bytes) -> bytes:
    return bytes(_optional("brotli", "brotlicffi").decompress(data))


def _zstd(data: bytes) -> bytes:
    # A streaming decompressor also reads frames that do not state their size.
    return bytes(_optional("zstandard").ZstdDecompressor().decompressobj().decompress(data))


DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress,
    "x-gzip": gzip.decompress,
    "deflate": _deflate,
    "br": _brotli,
    "zstd": _zstd,
    "identity": lambda data: data,
}


def decoded(content: bytes, codings: list[str]) -> bytes:
    """``content`` with the ``content-encoding`` codings undone, the last one applied first."""
    for coding in reversed([c.strip().lower() for c in codings if c.strip()]):
        decoder = DECODERS.get(coding)
        if decoder is None:
            raise Undecodable(
                f"its content-encoding {coding!r} is not one llmtape decodes ({', '.join(DECODERS)})"
            )
        try:
            content = decoder(content)
        except Undecodable:
            raise
        except Exception as error:  # each library raises its own error for damaged input
            raise Undecodable(f"it cannot be decoded as {coding} ({type(error).__name__}: {error})") from None
    return content
