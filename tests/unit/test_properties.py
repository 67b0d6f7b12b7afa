"""Properties: the SSE codec round-trips any events (every field, any bytes); the key ignores key order and
float spelling only."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from llmtape.format.sse import Decoder, Event, encode
from llmtape.keys import canonical_json, normalize, request_key

# Event names are single-line and without surrounding blanks; data is any text but carriage returns
# (which SSE itself cannot carry: CR and CRLF are line ends).
text_characters = st.characters(blacklist_characters="\r\n:", blacklist_categories=("Cs",))
names = st.none() | st.text(text_characters, min_size=1).map(str.strip).filter(bool)
# Data is also any bytes (but CR), UTF-8 or not, as the decoder carries them: undecodable bytes as surrogates.
raw_data = (
    st.binary().filter(lambda raw: b"\r" not in raw).map(lambda raw: raw.decode("utf-8", "surrogateescape"))
)
data = st.text(st.characters(blacklist_characters="\r", blacklist_categories=("Cs",))) | raw_data
events = st.lists(st.builds(Event, data=data, event=names, id=names, retry=names), max_size=20)


@given(events, st.integers(min_value=1, max_value=50))
def test_sse_round_trips_any_events_however_the_bytes_are_cut(sent: list[Event], size: int) -> None:
    wire = b"".join(map(encode, sent))
    decoder = Decoder()
    received = [e for at in range(0, len(wire), size) for e in decoder.feed(wire[at : at + size])]
    assert received + decoder.close() == sent


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)
bodies = st.dictionaries(st.text(max_size=8), json_values, max_size=6)


def reordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(v) for v in value]
    return value


@given(bodies)
def test_the_key_ignores_object_key_order_and_the_spelling_of_floats(body: dict[str, Any]) -> None:
    key = request_key("POST", "/v1/chat/completions", body)
    assert request_key("POST", "/v1/chat/completions", reordered(body)) == key
    # Through JSON text and back, as another client would serialize it.
    assert request_key("POST", "/v1/chat/completions", json.loads(json.dumps(body, indent=2))) == key


@given(bodies, st.text(max_size=8), json_values)
def test_any_change_of_content_changes_the_key(body: dict[str, Any], name: str, value: Any) -> None:
    changed = {**body, name: value}
    # "The same content" is the same after the documented normalization (floats to 5 decimals).
    same = name in body and canonical_json(normalize(body[name])) == canonical_json(normalize(value))
    if not same:
        assert request_key("POST", "/e", changed) != request_key("POST", "/e", body)


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_floats_closer_than_five_decimals_share_a_key(x: float) -> None:
    assert request_key("POST", "/e", {"t": x}) == request_key("POST", "/e", {"t": round(x, 5)})
