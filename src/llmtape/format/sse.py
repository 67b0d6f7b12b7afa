"""Server-sent events: an incremental decoder for recording and an encoder for replay.

The decoder follows the WHATWG event-stream rules: lines end in LF, CRLF or CR; lines
starting with ``:`` are comments (keep-alives such as ``: ping``); ``data:`` lines of one
event are joined with LF; a blank line dispatches the event.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    """One dispatched server-sent event."""

    data: str
    event: str | None = None


class Decoder:
    """Turns arbitrary byte pieces of an event stream into complete events."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._event: str | None = None

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
        return buffer[:index].decode("utf-8")

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
            self._event = value
        return None

    def _dispatch(self) -> Event | None:
        if not self._data:
            self._event = None
            return None
        event = Event(data="\n".join(self._data), event=self._event)
        self._data, self._event = [], None
        return event


def encode(event: Event) -> bytes:
    """Serialize one event, terminated by its blank line."""
    head = f"event: {event.event}\n" if event.event is not None else ""
    lines = "".join(f"data: {line}\n" for line in event.data.split("\n"))
    return f"{head}{lines}\n".encode()
