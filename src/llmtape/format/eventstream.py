"""AWS's binary event-stream framing (``application/vnd.amazon.eventstream``), which Bedrock's
``ConverseStream`` and ``InvokeModelWithResponseStream`` answer in: split into messages, and framed again.

Each message on the wire is a prelude (total length, headers length, CRC32 of the two), its headers, its
payload and a CRC32 of all before it. How a message is stored as a chunk: ``chunks.py``. Header values are
read as text, numbers and booleans (bytes as latin-1 text, a timestamp as its number, a UUID as text).
"""

from __future__ import annotations

import binascii
import struct
import uuid
from typing import Any

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_PRELUDE = struct.Struct(">III")
_MAX_MESSAGE = 16 * 1024 * 1024 + 128 * 1024  # the format's own limits: 16 MiB payload, 128 KiB headers


class MalformedFrames(ValueError):
    """Bytes that do not frame event-stream messages."""


Headers = dict[str, Any]


class Decoder:
    """Splits event-stream bytes, as they arrive, into (headers, payload) messages, checking both CRCs."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, piece: bytes) -> list[tuple[Headers, bytes]]:
        self._buffer += piece
        messages = []
        while len(self._buffer) >= _PRELUDE.size:
            total, headers_length, prelude_crc = _PRELUDE.unpack_from(self._buffer)
            if binascii.crc32(self._buffer[:8]) != prelude_crc:
                raise MalformedFrames("an event-stream message's prelude fails its CRC32")
            if not 16 + headers_length <= total <= _MAX_MESSAGE:
                raise MalformedFrames(f"an event-stream message claims {total} bytes")
            if len(self._buffer) < total:
                break
            message = bytes(self._buffer[:total])
            del self._buffer[:total]
            (crc,) = struct.unpack_from(">I", message, total - 4)
            if binascii.crc32(message[:-4]) != crc:
                raise MalformedFrames("an event-stream message fails its CRC32")
            headers = _headers(message[12 : 12 + headers_length])
            messages.append((headers, message[12 + headers_length : -4]))
        return messages

    def close(self) -> list[tuple[Headers, bytes]]:
        if self._buffer:
            raise MalformedFrames(
                f"the stream ended inside an event-stream message ({len(self._buffer)} bytes)"
            )
        return []


def _headers(raw: bytes) -> Headers:
    headers: Headers = {}
    at = 0
    try:
        while at < len(raw):
            size = raw[at]
            name = raw[at + 1 : at + 1 + size].decode("utf-8")
            kind = raw[at + 1 + size]
            at += 2 + size
            headers[name], at = _value(raw, at, kind)
    except (IndexError, struct.error, UnicodeDecodeError) as error:
        raise MalformedFrames(f"an event-stream message has unreadable headers ({error})") from None
    return headers


def _value(raw: bytes, at: int, kind: int) -> tuple[Any, int]:
    if kind in (0, 1):
        return kind == 0, at
    fixed = {2: ">b", 3: ">h", 4: ">i", 5: ">q", 8: ">q"}
    if kind in fixed:
        form = fixed[kind]
        return struct.unpack_from(form, raw, at)[0], at + struct.calcsize(form)
    if kind in (6, 7):
        (length,) = struct.unpack_from(">H", raw, at)
        value = raw[at + 2 : at + 2 + length]
        return (value.decode("utf-8") if kind == 7 else value.decode("latin-1")), at + 2 + length
    if kind == 9:
        return str(uuid.UUID(bytes=raw[at : at + 16])), at + 16
    raise MalformedFrames(f"an event-stream header has unknown type {kind}")


def frame(headers: Headers, payload: bytes) -> bytes:
    """One event-stream message, with its checksums."""
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    total = 16 + len(encoded) + len(payload)
    prelude = struct.pack(">II", total, len(encoded))
    message = prelude + struct.pack(">I", binascii.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", binascii.crc32(message))


def _header(name: str, value: Any) -> bytes:
    label = name.encode("utf-8")
    head = bytes([len(label)]) + label
    if isinstance(value, bool):
        return head + bytes([0 if value else 1])
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return head + b"\x04" + struct.pack(">i", value)
        return head + b"\x05" + struct.pack(">q", value)
    text = str(value).encode("utf-8")
    return head + b"\x07" + struct.pack(">H", len(text)) + text
