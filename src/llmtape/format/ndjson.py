"""Newline-delimited JSON streams (Ollama's native API): an incremental line splitter."""

from __future__ import annotations


class LineDecoder:
    """Turns arbitrary byte pieces into complete, non-empty lines."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, piece: bytes) -> list[str]:
        """Consume a piece; return the lines it completed."""
        *lines, self._buffer = (self._buffer + piece).split(b"\n")
        return [text for line in lines if (text := _text(line))]

    def close(self) -> list[str]:
        """The last line, if the stream did not end with a newline."""
        rest, self._buffer = _text(self._buffer), b""
        return [rest] if rest else []


def _text(line: bytes) -> str:
    # Bytes that are not UTF-8 travel as surrogates, to be stored as they came (see chunks.typed).
    return line.decode("utf-8", errors="surrogateescape").strip()
