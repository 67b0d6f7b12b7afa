"""AWS event-stream framing, and the chunks its messages are stored as: byte-exact both ways."""

from __future__ import annotations

import base64
import binascii
import struct
import uuid

import orjson
import pytest
from botocore.eventstream import EventStreamBuffer

from llmtape.errors import RecordingError
from llmtape.format import eventstream
from llmtape.format.chunks import message_bytes, message_chunk, stream_bytes
from llmtape.format.eventstream import Decoder, MalformedFrames, frame
from llmtape.format.recording import dumps, new_recording, new_request, parse

PAYLOAD = b'{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdefgh"}'
EXCEPTION = {
    ":exception-type": "throttlingException",
    ":content-type": "application/json",
    ":message-type": "exception",
}


def usual(event: str) -> eventstream.Headers:
    """The three headers of an ordinary event message."""
    return {":event-type": event, ":content-type": "application/json", ":message-type": "event"}


def raw_message(headers: bytes, payload: bytes) -> bytes:
    """A message framed by hand from already encoded header bytes, with valid checksums."""
    prelude = struct.pack(">II", 16 + len(headers) + len(payload), len(headers))
    message = prelude + struct.pack(">I", binascii.crc32(prelude)) + headers + payload
    return message + struct.pack(">I", binascii.crc32(message))


def header(name: str, kind: int, value: bytes) -> bytes:
    label = name.encode()
    return bytes([len(label)]) + label + bytes([kind]) + value


def decoded(data: bytes) -> list[tuple[eventstream.Headers, bytes]]:
    decoder = Decoder()
    return [*decoder.feed(data), *decoder.close()]


MESSAGES = [
    (usual("messageStart"), b'{"role":"assistant"}'),
    ({**usual("contentBlockDelta"), "count": 3, "big": 2**40, "yes": True, "no": False}, PAYLOAD),
    (EXCEPTION, b'{"message":"slow down"}'),
    (usual("empty"), b""),
]


def test_framed_messages_decode_whole_and_byte_by_byte() -> None:
    data = b"".join(frame(headers, payload) for headers, payload in MESSAGES)
    assert decoded(data) == MESSAGES
    decoder = Decoder()
    one_by_one = [message for index in range(len(data)) for message in decoder.feed(data[index : index + 1])]
    assert one_by_one == MESSAGES
    assert decoder.close() == []


def test_header_types_round_trip_with_their_python_types() -> None:
    headers = {"flag": True, "off": False, "small": -7, "large": -(2**40), "text": "ünïcode ✓"}
    [(back, _)] = decoded(frame(headers, b"x"))
    assert back == headers
    assert [type(value) for value in back.values()] == [bool, bool, int, int, str]


def test_botocore_parses_what_frame_writes() -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(b"".join(frame(headers, payload) for headers, payload in MESSAGES))
    assert [(message.headers, message.payload) for message in buffer] == MESSAGES


def test_header_types_frame_never_writes_are_read_as_documented() -> None:
    # Byte, short, bytes, timestamp and UUID headers, as AWS may send them.
    marker = uuid.UUID("12345678-1234-5678-1234-567812345678")
    headers = b"".join(
        [
            header("byte", 2, struct.pack(">b", -2)),
            header("short", 3, struct.pack(">h", 300)),
            header("blob", 6, struct.pack(">H", 2) + b"\xff\x00"),
            header("when", 8, struct.pack(">q", 1700000000000)),
            header("id", 9, marker.bytes),
        ]
    )
    [(read, payload)] = decoded(raw_message(headers, b"{}"))
    assert read == {"byte": -2, "short": 300, "blob": "\xff\x00", "when": 1700000000000, "id": str(marker)}
    assert payload == b"{}"


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (4, "prelude fails its CRC32"),  # the headers length
        (9, "prelude fails its CRC32"),  # the prelude's own CRC
        (-6, "message fails its CRC32"),  # the payload
        (-1, "message fails its CRC32"),  # the message CRC
    ],
)
def test_a_flipped_byte_is_malformed(where: int, message: str) -> None:
    damaged = bytearray(frame(usual("chunk"), PAYLOAD))
    damaged[where] ^= 0x01
    with pytest.raises(MalformedFrames, match=message):
        Decoder().feed(bytes(damaged))


def test_a_stream_that_ends_inside_a_message_is_malformed() -> None:
    decoder = Decoder()
    whole = frame(usual("chunk"), PAYLOAD)
    assert decoder.feed(whole + whole[:20]) == [(usual("chunk"), PAYLOAD)]
    with pytest.raises(MalformedFrames, match=r"ended inside an event-stream message \(20 bytes\)"):
        decoder.close()


def test_a_length_beyond_the_formats_limit_is_malformed() -> None:
    prelude = struct.pack(">II", 64 * 1024 * 1024, 0)
    with pytest.raises(MalformedFrames, match="claims 67108864 bytes"):
        Decoder().feed(prelude + struct.pack(">I", binascii.crc32(prelude)))


def test_an_unknown_header_type_is_malformed() -> None:
    with pytest.raises(MalformedFrames, match="unknown type 12"):
        decoded(raw_message(header("odd", 12, b""), b"{}"))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


INNER = b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi \xc3\xa9"}}'


@pytest.mark.parametrize(
    ("headers", "payload", "stored"),
    [
        pytest.param(
            usual("contentBlockDelta"),
            PAYLOAD,
            {"__type__": "json", "__data__": orjson.loads(PAYLOAD), "__event__": "contentBlockDelta"},
            id="event",
        ),
        pytest.param(
            EXCEPTION,
            b'{"message":"slow down"}',
            {
                "__type__": "json",
                "__data__": {"message": "slow down"},
                "__event__": "throttlingException",
                "__headers__": EXCEPTION,
            },
            id="exception",
        ),
        pytest.param(
            usual("chunk"),
            orjson.dumps({"bytes": b64(INNER), "p": "abcdefgh"}),
            {
                "__type__": "json",
                "__data__": {"bytes": orjson.loads(INNER), "p": "abcdefgh"},
                "__decoded__": "bytes",
                "__event__": "chunk",
            },
            id="base64 JSON, decoded",
        ),
        pytest.param(
            usual("chunk"),
            orjson.dumps({"bytes": b64(b'{"type": "message_stop"}')}),
            {
                "__type__": "json",
                "__data__": {"bytes": b64(b'{"type": "message_stop"}')},
                "__event__": "chunk",
            },
            id="base64 JSON with spaces, kept encoded",
        ),
        pytest.param(
            usual("chunk"),
            orjson.dumps({"bytes": b64(b"\x00\xffnot json")}),
            {"__type__": "json", "__data__": {"bytes": b64(b"\x00\xffnot json")}, "__event__": "chunk"},
            id="base64 of no JSON, kept encoded",
        ),
        pytest.param(
            usual("ping"),
            b"",
            {"__type__": "text", "__data__": "", "__event__": "ping"},
            id="empty payload",
        ),
        pytest.param(
            {":event-type": "note", ":message-type": "event"},
            b"plain words",
            {
                "__type__": "text",
                "__data__": "plain words",
                "__event__": "note",
                "__headers__": {":event-type": "note", ":message-type": "event"},
            },
            id="text under unusual headers",
        ),
        pytest.param(
            usual("blob"),
            b"\x00\xff\xfe",
            {"__type__": "bytes", "__data__": "\x00\xff\xfe", "__event__": "blob"},
            id="bytes that are not UTF-8",
        ),
    ],
)
def test_a_message_is_stored_as_one_chunk_and_replays_byte_exact(
    headers: eventstream.Headers, payload: bytes, stored: dict[str, object]
) -> None:
    chunk = message_chunk(headers, payload)
    assert chunk == stored
    assert message_bytes(chunk) == frame(headers, payload)
    # What replays is what the recording file holds, after its JSON round trip.
    assert message_bytes(orjson.loads(orjson.dumps(chunk))) == frame(headers, payload)


def test_a_null_payload_replays_as_null_not_as_an_empty_payload() -> None:
    chunk = message_chunk(usual("chunk"), b"null")
    assert message_bytes(chunk) == frame(usual("chunk"), b"null")


def eventstream_recording(body: list[dict[str, object]]) -> bytes:
    endpoint = "/model/anthropic.claude-3-haiku/invoke-with-response-stream"
    request = new_request("POST", f"http://bedrock{endpoint}", endpoint, {}, {"messages": []})
    response = {
        "status": 200,
        "headers": {"content-type": eventstream.CONTENT_TYPE},
        "is_streaming": True,
        "body": body,
    }
    return dumps(new_recording(request, response))  # type: ignore[arg-type]


def test_a_stored_event_stream_replays_message_by_message() -> None:
    wire = [
        (usual("chunk"), orjson.dumps({"bytes": b64(INNER), "p": "ab"})),
        (usual("chunk"), orjson.dumps({"bytes": b64(b'{"type":"message_stop"}'), "p": "abcd"})),
        (EXCEPTION, b'{"message":"slow down"}'),
    ]
    content = eventstream_recording([message_chunk(headers, payload) for headers, payload in wire])
    recording = parse(content, "r.json")
    pieces = stream_bytes(recording["response"])
    assert pieces == [frame(headers, payload) for headers, payload in wire]  # no [DONE], no SSE
    assert decoded(b"".join(pieces)) == wire


@pytest.mark.parametrize(
    ("chunk", "problem"),
    [
        (
            {"__type__": "json", "__data__": {}, "__event__": "x", "__headers__": {"n": 1.5}},
            "whose __headers__ are not an object of text, numbers and booleans",
        ),
        (
            {"__type__": "json", "__data__": {}, "__event__": "x", "__headers__": ["x"]},
            "whose __headers__ are not an object of text, numbers and booleans",
        ),
        (
            {"__type__": "json", "__data__": {}, "__headers__": {"n": {"nested": 1}}},
            "whose __headers__ are not an object of text, numbers and booleans",
        ),
        (
            {"__type__": "json", "__data__": "text", "__event__": "x", "__decoded__": "bytes"},
            "whose __decoded__ is not 'bytes' of an object's data",
        ),
        (
            {"__type__": "json", "__data__": {"bytes": {}}, "__event__": "x", "__decoded__": "base64"},
            "whose __decoded__ is not 'bytes' of an object's data",
        ),
    ],
)
def test_parse_rejects_bad_event_stream_fields(chunk: dict[str, object], problem: str) -> None:
    good = message_chunk(usual("chunk"), PAYLOAD)
    with pytest.raises(RecordingError, match=rf"has response\.body\[1\] {problem}"):
        parse(eventstream_recording([good, chunk]), "r.json")


def test_parse_accepts_the_chunks_message_chunk_makes() -> None:
    chunks = [message_chunk(headers, payload) for headers, payload in MESSAGES]
    chunks.append(message_chunk(usual("chunk"), orjson.dumps({"bytes": b64(INNER)})))
    assert parse(eventstream_recording(chunks), "r.json")["response"]["body"] == chunks
