"""A stream its test leaves unread is recorded at the test's end, and never holds up the next test."""

from __future__ import annotations

from llmtape.locks import lock_folder
from tests.plugin.conftest import Project

UNREAD = """
import os

import anthropic

CLIENT = anthropic.Anthropic(base_url=os.environ["LLM_BASE_URL"].removesuffix("/v1"), api_key="k")


def until_message_delta():
    messages = [{"role": "user", "content": "left unread"}]
    for event in CLIENT.messages.create(model="c", max_tokens=9, messages=messages, stream=True):
        if event.type == "message_delta":
            return  # as litellm does: message_stop is never read, the stream never closed


def test_one():
    until_message_delta()


def test_two():
    until_message_delta()


def teardown_module():
    CLIENT.close()
"""


def test_a_stream_left_unread_is_recorded_whole_and_the_next_test_replays_it(project: Project) -> None:
    project.pytester.makepyfile(test_unread=UNREAD)
    recorded = project.pytester.runpytest("--record", "test_unread.py")
    recorded.assert_outcomes(passed=2)
    recorded.stdout.fnmatch_lines(["llmtape: 1 replayed, 1 recorded, 0 missing"])
    (recording,) = project.files()
    events = [chunk.get("__event__") for chunk in recording["response"]["body"]]  # type: ignore[index, union-attr]
    assert events[-1] == "message_stop"
    assert list(lock_folder(project.recordings).iterdir()) == []
    project.server.stop()
    replayed = project.pytester.runpytest("test_unread.py")
    replayed.assert_outcomes(passed=2)
    replayed.stdout.fnmatch_lines(["llmtape: 2 replayed, 0 recorded, 0 missing"])
