"""Recordings named by an earlier key rule move to their new names with ``llmtape rehash``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from llmtape.cli import main
from llmtape.context import Options
from llmtape.format.recording import new_recording, new_request
from llmtape.keys import request_key
from llmtape.store import Store
from llmtape.tape import Tape

URL = "https://api.openai.com/v1/models?after=page2"


def test_rehash_moves_a_bodyless_request_to_its_key_with_the_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a recording of GET /v1/models?after=page2 named as before the query joined the key.
    monkeypatch.chdir(tmp_path)
    request = new_request("GET", URL, "/v1/models", {}, None)
    response = {"status": 200, "headers": {}, "is_streaming": False, "body": None}
    old = Store(tmp_path / "recordings").save(
        request_key("GET", "/v1/models", None), new_recording(request, response)
    )
    # When it is re-keyed.
    assert main(["rehash", "--dir", "recordings"]) == 0
    # Then it carries the name the request is keyed by now, and nothing else is left.
    incoming = Tape(Options(directory=tmp_path / "recordings")).receive(httpx.Request("GET", URL))
    assert not old.exists()
    assert incoming.path.exists()
    assert "re-keyed 1 recordings" in capsys.readouterr().out
