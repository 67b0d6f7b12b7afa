"""The secret gate: a key used while recording never reaches disk; other credentials stop the write."""

from __future__ import annotations

import pytest

from tests.plugin.conftest import Project

ECHO = """
import os

from test_chat import chat


def test_echo():
    assert "You said:" in chat(os.environ["SPOKEN"])
"""
KEY = "sk-proj-" + "Zq9Xw8" * 6


def all_text(project: Project) -> str:
    return (
        "".join(p.read_text() for p in project.recordings.rglob("*")) if project.recordings.exists() else ""
    )


def test_an_environment_key_is_redacted_wherever_it_occurs(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The key travels in the request body, and the server echoes it back in its answer.
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("SPOKEN", f"my key is {KEY}")
    project.pytester.makepyfile(test_echo=ECHO)
    project.pytester.runpytest("--record", "test_echo.py").assert_outcomes(passed=1)
    text = all_text(project)
    assert KEY not in text
    assert KEY[:12] not in text
    assert "my key is <OPENAI_API_KEY>" in text
    assert "You said: my key is <OPENAI_API_KEY>" in text
    # The stored request is keyed as stored, so the recording replays.
    project.pytester.runpytest("test_echo.py").stdout.fnmatch_lines(
        ["llmtape: 1 replayed, 0 recorded, 0 missing"]
    )


def test_a_credential_not_in_the_environment_stops_the_write(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPOKEN", f"my key is {KEY}")
    project.pytester.makepyfile(test_echo=ECHO)
    result = project.pytester.runpytest("--record", "test_echo.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "llmtape: refused to write a recording containing OpenAI key sk-pro…*",
            "  file: recordings/*.json (not written)",
            "*@pytest.mark.llmtape(allow_secrets=True)",
        ]
    )
    assert KEY not in all_text(project)
    assert list(project.recordings.glob("*.json")) == []


def test_allow_secrets_lets_a_test_record_a_credential_shaped_value(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPOKEN", f"my key is {KEY}")
    project.pytester.makepyfile(
        test_echo=ECHO.replace(
            "def test_echo", "import pytest\n\n\n@pytest.mark.llmtape(allow_secrets=True)\ndef test_echo"
        )
    )
    project.pytester.runpytest("--record", "test_echo.py").assert_outcomes(passed=1)
    assert KEY in all_text(project)
