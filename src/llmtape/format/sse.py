"""Server-sent events: an incremental decoder for recording and an encoder for replay.

The decoder follows the WHATWG event-stream rules: lines end in LF, CRLF or CR; lines
starting with ``:`` are comments (keep-alives such as ``: ping``); ``data:`` lines of one
event are joined with LF; a blank line dispatches the event. Every field is kept: ``event``,
``id`` and ``retry`` as sent; an ``id`` or ``retry`` in a block without data, which dispatches
nothing, is kept on the next event, where a client's state is the same. Bytes that are not
UTF-8 are carried in the text as surrogates (``surrogateescape``), so they replay unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    """One dispatched server-sent event."""

    data: str
    event: str | None = None
    id: str | None = None
    retry: str | None = None


class Decoder:
    """Turns arbitrary byte pieces of an event stream into complete events."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._event: str | None = None
        self._fields: dict[str, str] = {}  # id and retry, as sent

    def feed(self, piece: bytes) -> list[Event]:
        """Consume a piece of the stream; return the events it completed."""
        self._buffer += piece
        events: list[Event] = []
        while True:
            line = self._next_line()
            if line is None:
                return events
            event = self._process(line)
            if event is not None:
                events.append(event)

    def close(self) -> list[Event]:
        """Flush the end of the stream: a last event without its blank line still counts."""
        events = self.feed(b"\n") if self._buffer else []
        event = self._process("")
        return [*events, event] if event is not None else events

    def _next_line(self) -> str | None:
        buffer = self._buffer
        ends = [i for i in (buffer.find(b"\n"), buffer.find(b"\r")) if i >= 0]
        if not ends:
            return None
        index = min(ends)
        if buffer[index] == 0x0D:
            # A CR at the very end may be the first half of a CRLF still in flight.
            if index + 1 == len(buffer):
                return None
            end = index + 2 if buffer[index + 1] == 0x0A else index + 1
        else:
            end = index + 1
        self._buffer = buffer[end:]
        return buffer[:index].decode("utf-8", errors="surrogateescape")

    def _process(self, line: str) -> Event | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = _text(value)
        elif name in ("id", "retry"):
            self._fields[name] = _text(value)
        return None

    def _dispatch(self) -> Event | None:
        if not self._data:
            self._event = None  # as the rules say; its id and retry wait for the next event
            return None
        fields = self._fields
        event = Event("\n".join(self._data), self._event, fields.get("id"), fields.get("retry"))
        self._data, self._event, self._fields = [], None, {}
        return event


def _text(value: str) -> str:
    """A field other than data as text that can be stored: bytes that are not UTF-8 become U+FFFD."""
    return value.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")


def encode(event: Event) -> bytes:
    """Serialize one event, terminated by its blank line."""
    head = f"event: {event.event}\n" if event.event is not None else ""
    if event.id is not None:
        head += f"id: {event.id}\n"
    if event.retry is not None:
        head += f"retry: {event.retry}\n"
    lines = "".join(f"data: {line}\n" for line in event.data.split("\n"))
    return f"{head}{lines}\n".encode("utf-8", errors="surrogateescape")
