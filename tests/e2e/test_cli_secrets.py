"""What the llmtape command prints shows no secret: credential-shaped values masked, the environment's
credentials redacted, URLs scrubbed, even for recordings that hold them (allowed, imported or old)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmtape.cli import main
from llmtape.format.recording import new_recording
from llmtape.matching import Matching, recording_key
from llmtape.store import Store
from tests.fake_credentials import credentials, random_text

KEY = credentials(seed=11)["Anthropic key"]
ENVIRONMENT_KEY = random_text(32, "0123456789abcdef")
QUERY_KEY = random_text(30)


@pytest.fixture
def recordings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with two recordings that hold a credential shape, an environment key and a ?key=."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AZURE_OPENAI_KEY", ENVIRONMENT_KEY)
    store = Store(tmp_path / "recordings")
    for prompt in ("hello", "hello again"):
        request = {
            "method": "POST",
            "url": f"https://h.example/v1/chat/completions?key={QUERY_KEY}",
            "endpoint": "/v1/chat/completions",
            "headers": {"content-type": "application/json"},
            "body": {
                "model": "m",
                "messages": [{"role": "user", "content": f"{prompt}: {KEY} {ENVIRONMENT_KEY}"}],
            },
            "model": "m",
        }
        answer = {"object": "chat.completion", "choices": [{"message": {"content": f"said {KEY}"}}]}
        response = {
            "status": 200,
            "headers": {"content-type": "application/json"},
            "is_streaming": False,
            "body": {"__type__": "json", "__data__": answer},
        }
        recording = new_recording(request, response)  # type: ignore[arg-type]
        store.save(recording_key(recording, Matching()), recording)
    return store.directory


@pytest.mark.parametrize("command", ["list", "show", "diff", "explain", "verify"])
def test_no_command_prints_a_secret(
    recordings: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    first, second = (p.name[:12] for p in sorted(recordings.glob("*.json")))
    arguments = {
        "list": [],
        "show": [first],
        "diff": [first, second],
        "explain": [first],
        "verify": ["--no-schema"],
    }
    main([command, *arguments[command]])
    out = capsys.readouterr()
    printed = out.out + out.err
    assert printed.strip()
    for secret in (KEY[6:], ENVIRONMENT_KEY, QUERY_KEY):
        assert not any(secret[i : i + 8] in printed for i in range(len(secret) - 8)), (command, printed)
    if command == "show":
        assert "https://h.example/v1/chat/completions  model" in printed
        assert f": {KEY[:6]}… <AZURE_OPENAI_KEY>\n" in printed
    if command == "verify":
        assert f"secret-looking value: Anthropic key {KEY[:6]}…" in printed
