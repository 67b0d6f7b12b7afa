"""Streamed JSON arrays (Gemini's ``:streamGenerateContent`` without ``alt=sse``): an incremental decoder
of the elements for recording and the pieces they replay as.

The server sends ``[{...}\\n,\\r\\n{...}\\n]`` over a chunked ``application/json`` body, one element at a
time. The decoder finds each top-level element by its brackets, braces and strings alone (brackets,
commas and escaped quotes inside strings do not count), so pieces may split anywhere, even inside a
multi-byte character; an element that is not valid JSON is still cut out whole, to be stored as text.
"""

from __future__ import annotations

import re
from typing import Literal

# Methods whose answer is a JSON array streamed element by element when it is not server-sent events.
ARRAY_STREAM_SUFFIXES = (":streamGenerateContent",)

OPEN, SEPARATOR, CLOSE = b"[", b"\n,\r\n", b"\n]"  # the framing Gemini sends, replayed the same

_WHITESPACE = b" \t\r\n"
_STRUCTURE = re.compile(rb'["{}\[\],]')  # what matters outside a string
_IN_STRING = re.compile(rb'["\\]')  # what matters inside one


class MalformedArray(ValueError):
    """The body ended before its array did, or was not one JSON array."""


class ArrayDecoder:
    """Turns arbitrary byte pieces of a streamed JSON array into the text of each element."""

    def __init__(self) -> None:
        self._buffer = b""  # from the start of the element being read (or the next byte to read)
        self._at = 0  # where scanning resumes in the buffer
        self._depth = 0
        self._in_string = False
        self._state = "start"  # start, before (an element), element, after (an element), done

    def feed(self, piece: bytes) -> list[str]:
        """Consume a piece; return the elements it completed."""
        self._buffer += piece
        elements: list[str] = []
        while (element := self._step()) is not False:
            if element is not None:
                elements.append(element)
        return elements

    def close(self) -> list[str]:
        """The end of the body: raises :class:`MalformedArray` unless the array was closed, with nothing
        but whitespace after it."""
        rest = self._buffer[self._at :].strip(_WHITESPACE) if self._state != "element" else self._buffer
        if self._state != "done":
            raise MalformedArray(f"the JSON array ended before its closing ']' ({_count(rest)} left over)")
        if rest:
            raise MalformedArray(f"the JSON array was followed by {_count(rest)} that are not whitespace")
        return []

    def _step(self) -> str | Literal[False] | None:
        """Advance by one structural step: an element's text, None for a step without one, False when
        the buffer holds nothing more to read."""
        if self._state == "element":
            return self._in_element()
        at = self._skip_whitespace()
        if at == len(self._buffer) or self._state == "done":
            return False
        byte = self._buffer[at : at + 1]
        if self._state == "start" and byte != OPEN:
            raise MalformedArray(f"the body is not a JSON array: it starts with {byte!r}")
        if self._state == "start":
            self._move(at + 1, "before")
        elif byte == b"]":  # only an element's own brackets are read as part of it
            self._move(at + 1, "done")
        elif byte == b"," and self._state == "after":
            self._move(at + 1, "before")
        else:  # an element starts here (or, after one that lacked its comma, the next one does)
            self._move(at, "element")
        return None

    def _skip_whitespace(self) -> int:
        at, buffer = self._at, self._buffer
        while at < len(buffer) and buffer[at] in _WHITESPACE:
            at += 1
        self._at = at
        return at

    def _move(self, at: int, state: str) -> None:
        self._buffer, self._at, self._state = self._buffer[at:], 0, state

    def _in_element(self) -> str | Literal[False] | None:
        buffer = self._buffer
        while True:
            if self._in_string:
                found = _IN_STRING.search(buffer, self._at)
                if found is None or (found.end() == len(buffer) and found.group() == b"\\"):
                    return False  # the string (or its escape) goes on in the next piece
                self._at = found.end() + (1 if found.group() == b"\\" else 0)
                self._in_string = found.group() != b'"'
                if not self._in_string and self._depth == 0:
                    return self._element(self._at)  # a string element ends with its quote
                continue
            found = _STRUCTURE.search(buffer, self._at)
            if found is None:
                self._at = len(buffer)
                return False
            end = self._structure(found.start(), found.group())
            if end is not None:
                return self._element(end)

    def _structure(self, at: int, byte: bytes) -> int | None:
        """Take one structural byte inside an element; where the element ends, if it ends here."""
        self._at = at + 1
        if byte == b'"':
            self._in_string = True
        elif byte in (b"{", b"["):
            self._depth += 1
        elif byte in (b"}", b"]") and self._depth > 0:
            self._depth -= 1
            return self._at if self._depth == 0 else None
        elif byte != b"}" and self._depth == 0:  # the end of a number, true, false or null
            return at
        # A comma inside the element, or a stray "}" at depth 0 (kept as the text of a malformed element).
        return None

    def _element(self, end: int) -> str:
        text = self._buffer[:end].strip(_WHITESPACE)
        self._buffer, self._at, self._depth, self._state = self._buffer[end:], 0, 0, "after"
        # Bytes that are not UTF-8 travel as surrogates, to be stored as they came (see chunks.typed).
        return text.decode("utf-8", errors="surrogateescape")


def _count(rest: bytes) -> str:
    return f"{len(rest)} byte{'s' if len(rest) != 1 else ''}"


def element_piece(index: int, element: bytes) -> bytes:
    """The piece that carries the element at ``index``: the array's opening or a separator, then it."""
    return (OPEN if index == 0 else SEPARATOR) + element


def closing_piece(count: int) -> bytes:
    """The piece that ends an array of ``count`` elements (an empty one is opened here too)."""
    return CLOSE if count else OPEN + CLOSE


def pieces(elements: list[bytes], *, closed: bool = True) -> list[bytes]:
    """The pieces a streamed array replays as, one per element; ``closed`` false leaves off the end of
    an array that broke off."""
    framed = [element_piece(index, element) for index, element in enumerate(elements)]
    return [*framed, closing_piece(len(framed))] if closed else framed
