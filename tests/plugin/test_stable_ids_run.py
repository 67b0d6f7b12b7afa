"""Stable ids across the tapes of a run: a file a module fixture uploaded (its call on the session's tape)
is fetched by the tests under its stand-in, against a stand-in that issues random ids and answers an unknown
one with a 404; a file's bytes are uploaded as the application gave them, stand-ins included."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Server, start_server

SUITE = """
import os

import openai
import pytest

BASE = os.environ["LLM_BASE_URL"]
NOTES = b"Paris is sunny in June."


def client():
    return openai.OpenAI(base_url=BASE, api_key="test-key", max_retries=0)


@pytest.fixture(scope="module")
def uploaded():
    with client() as c:
        return c.files.create(file=("notes.txt", NOTES), purpose="assistants")


def test_retrieve(uploaded):
    with client() as c:
        assert c.files.retrieve(uploaded.id).id == uploaded.id


def test_content(uploaded):
    with client() as c:
        assert c.files.content(uploaded.id).read() == NOTES


def test_a_log_that_names_a_response_is_uploaded_as_it_is():
    with client() as c:
        answer = c.responses.create(model="gpt-4o-mini", input="My name is Ada.")
        log = f"the answer was {answer.id}".encode()
        sent = c.files.create(file=("log.txt", log), purpose="assistants")
        assert c.files.content(sent.id).read() == log
"""


@pytest.fixture
def stateful() -> Iterator[Server]:
    live = start_server("--random-ids", module="tests.servers.openai_stateful")
    yield live
    live.stop()


def test_ids_a_fixture_was_given_are_known_to_the_tests_and_file_bytes_are_kept(
    pytester: pytest.Pytester, stateful: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LLMTAPE_MODE", raising=False)
    monkeypatch.setenv("LLM_BASE_URL", stateful.base_url)
    pytester.makepyfile(test_files=SUITE)
    recorded = pytester.runpytest("--record")
    recorded.assert_outcomes(passed=3)
    replayed = pytester.runpytest()
    replayed.assert_outcomes(passed=3)
    replayed.stdout.fnmatch_lines(["llmtape: * replayed, 0 recorded, 0 missing"])
