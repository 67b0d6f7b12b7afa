"""Helpers for driving the plugin in pytester runs against a live server."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Server

CHAT_TEST = """
import os

import openai


def chat(content, stream=False):
    messages = [{"role": "user", "content": content}]
    with openai.OpenAI(base_url=os.environ["LLM_BASE_URL"], api_key="test-key") as client:
        if not stream:
            completion = client.chat.completions.create(model="gpt-4o", messages=messages)
            return completion.choices[0].message.content
        with client.chat.completions.create(model="gpt-4o", messages=messages, stream=True) as chunks:
            return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_chat():
    assert chat("hello").startswith("You said: hello")
"""


@dataclass
class Project:
    """A pytester project whose tests talk to the live server through ``LLM_BASE_URL``."""

    pytester: pytest.Pytester
    server: Server

    @property
    def recordings(self) -> Path:
        return self.pytester.path / "recordings"

    def files(self, directory: Path | None = None) -> list[dict[str, object]]:
        """The recordings in a directory, parsed."""
        folder = directory or self.recordings
        return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


@pytest.fixture
def project(pytester: pytest.Pytester, server: Server, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A pytester project with one chat test and the live server's URL in the environment."""
    monkeypatch.setenv("LLM_BASE_URL", server.base_url)
    monkeypatch.delenv("LLMTAPE_MODE", raising=False)
    pytester.makepyfile(test_chat=CHAT_TEST)
    return Project(pytester, server)
