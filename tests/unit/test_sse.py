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
    Event(data="[DONE]", id="7", retry="100"),
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


def test_id_and_retry_are_kept_on_their_event() -> None:
    assert decode([b"id: 1\nretry: 3000\nevent: delta\ndata: x\n\ndata: y\n\n"]) == [
        Event(data="x", event="delta", id="1", retry="3000"),
        Event(data="y"),
    ]


def test_id_and_retry_of_a_block_without_data_wait_for_the_next_event() -> None:
    # The rules dispatch nothing for such a block; its id (and retry) hold for the event that follows.
    assert decode([b"retry: 10\n\nevent: ping\nid: 4\n\ndata: x\n\n"]) == [
        Event(data="x", id="4", retry="10")
    ]


def test_bytes_that_are_not_utf8_are_carried_and_encoded_back_unchanged() -> None:
    raw = b"data: caf\xe9 \xff\n\n"
    (event,) = decode([raw[:9], raw[9:]])
    assert event.data == "caf\udce9 \udcff"
    assert encode(event) == raw


def test_every_field_is_encoded() -> None:
    event = Event(data="{}", event="delta", id="7", retry="3000")
    assert encode(event) == b"event: delta\nid: 7\nretry: 3000\ndata: {}\n\n"
    assert decode([encode(event)]) == [event]
