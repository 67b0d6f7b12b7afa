"""The closest recording of a miss: the fewest differing JSON paths, then the most similar text, then the
same test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from llmtape.context import Options
from llmtape.format.recording import StoredResponse, new_recording, new_request
from llmtape.incoming import Incoming
from llmtape.keys import file_name, request_key
from llmtape.miss import closest
from llmtape.store import Store

ENDPOINT = "/v1/chat/completions"
RESPONSE: StoredResponse = {"status": 200, "headers": {}, "is_streaming": False, "body": None}
CAPITALS = ["France", "Spain", "Portugal", "Italy", "Greece"]


def body(content: str, **more: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": content}], **more}


def save(store: Store, sent: dict[str, Any], test_id: str | None = None) -> Path:
    request = new_request("POST", f"http://api.test{ENDPOINT}", ENDPOINT, {}, sent)
    return store.save(request_key("POST", ENDPOINT, sent, test_id), new_recording(request, RESPONSE, test_id))


def missed(store: Store, sent: dict[str, Any], test_id: str | None = None) -> Path | None:
    key = request_key("POST", ENDPOINT, sent, test_id)
    incoming = Incoming(
        "POST",
        f"http://api.test{ENDPOINT}",
        ENDPOINT,
        httpx.Headers(),
        sent,
        key,
        1,
        store.path(file_name(key, 1)),
    )
    found = closest(store, incoming, Options(directory=store.directory, test_id=test_id))
    return found[0] if found else None


def test_among_equally_distant_recordings_the_most_similar_text_is_closest(tmp_path: Path) -> None:
    # Given five one-prompt recordings, each one JSON path away from any other
    store = Store(tmp_path)
    paths = {country: save(store, body(f"What is the capital of {country}?")) for country in CAPITALS}
    # When the prompt whose file sorts last is changed by one character
    country = max(paths, key=lambda c: paths[c].name)
    # Then that prompt's recording is the closest, not the first file among the ties
    assert missed(store, body(f"What is the capital of {country}!")) == paths[country]


def test_fewer_differing_paths_beat_more_similar_text(tmp_path: Path) -> None:
    store = Store(tmp_path)
    one_path = save(store, body("Something else entirely, with other words"))
    save(store, body("Hi.", temperature=0.5))
    assert missed(store, body("Hi!")) == one_path


def test_between_equal_bodies_the_recording_of_the_same_test_is_closest(tmp_path: Path) -> None:
    store = Store(tmp_path)
    recorded = {test: save(store, body("Hello"), test_id=test) for test in ("t.py::a", "t.py::b", "t.py::c")}
    for test, path in recorded.items():
        assert missed(store, body("Hello?"), test_id=test) == path
