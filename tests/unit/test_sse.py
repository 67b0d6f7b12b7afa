"""The SSE decoder and encoder."""

from __future__ import annotations

import pytest

from llmtape.format.sse import Decoder, Event, encode

STREAM = (
    b": ping\r\n"
    b"event: message_start\r\n"
    b'data: {"a": 1}\r\n'
    b"\r\n"
    b"data: first line\n"
    b"data: second line\n"
    b"\n"
    b"data:no-space\r"
    b"\r"
    b"id: 7\n"
    b"retry: 100\n"
    b"data: [DONE]\n"
    b"\n"
)
EXPECTED = [
    Event(data='{"a": 1}', event="message_start"),
    Event(data="first line\nsecond line"),
    Event(data="no-space"),
    Event(data="[DONE]"),
]


def decode(pieces: list[bytes]) -> list[Event]:
    decoder = Decoder()
    events = [event for piece in pieces for event in decoder.feed(piece)]
    return events + decoder.close()


def test_decodes_comments_event_names_multiline_data_and_every_line_ending() -> None:
    assert decode([STREAM]) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_decoding_does_not_depend_on_how_the_bytes_are_split(size: int) -> None:
    pieces = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    assert decode(pieces) == EXPECTED


def test_a_multibyte_character_split_across_pieces_survives() -> None:
    data = "data: café ☕\n\n".encode()
    cut = data.index("☕".encode()) + 1
    assert decode([data[:cut], data[cut:]]) == [Event(data="café ☕")]


def test_a_last_event_without_its_blank_line_is_kept_at_close() -> None:
    assert decode([b"data: tail"]) == [Event(data="tail")]


def test_an_event_name_without_data_is_not_dispatched() -> None:
    assert decode([b"event: ping\n\ndata: x\n\n"]) == [Event(data="x")]


def test_events_arrive_as_soon_as_their_blank_line_does() -> None:
    decoder = Decoder()
    assert decoder.feed(b"data: one\n") == []
    assert decoder.feed(b"\ndata: two") == [Event(data="one")]


@pytest.mark.parametrize("event", [Event(data="plain"), Event(data="a\nb\n", event="delta"), Event(data="")])
def test_encode_then_decode_round_trips(event: Event) -> None:
    assert decode([encode(event)]) == ([event] if event.data or event.event is None else [])


def test_encode_is_the_openai_wire_format() -> None:
    assert encode(Event(data='{"x":1}')) == b'data: {"x":1}\n\n'
    assert encode(Event(data="[DONE]")) == b"data: [DONE]\n\n"
    assert encode(Event(data="{}", event="message_stop")) == b"event: message_stop\ndata: {}\n\n"
