"""A replay miss explains itself and fails the test, whatever the client or the application does."""

from __future__ import annotations

import pytest

from tests.plugin.conftest import Project


def test_the_miss_message_names_request_key_file_closest_recording_and_command(project: Project) -> None:
    # Given a recording of "hello"
    project.pytester.runpytest("--record").assert_outcomes(passed=1)
    (recorded,) = project.recordings.glob("*.json")
    # When the test now sends another message
    project.pytester.makepyfile(
        test_chat=(project.pytester.path / "test_chat.py")
        .read_text()
        .replace('chat("hello").startswith("You said: hello")', 'chat("hello again")')
    )
    result = project.pytester.runpytest()
    # Then the failure explains the miss completely
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"llmtape: no recording for POST {project.server.base_url}/chat/completions (model 'gpt-4o')",
            "  key:      [0-9a-f]*",
            "  expected: recordings/*.json",
            f"  closest:  recordings/{recorded.name}, whose body differs (recorded != sent) at:",
            "    body.messages[[]0[]].content: 'hello' != 'hello again'",
            "  to record it: pytest --record test_chat.py::test_chat",
        ]
    )
    assert "Connection error" not in result.stdout.str()
    assert project.server.served() == 1


def test_the_client_does_not_retry_a_miss(project: Project) -> None:
    project.pytester.makepyfile(
        test_chat=(project.pytester.path / "test_chat.py").read_text()
        + """

def test_calls(llmtape):
    import openai
    try:
        chat("nobody recorded this")
    except openai.NotFoundError as error:
        assert "llmtape: no recording" in str(error)
    assert [c.outcome for c in llmtape.calls] == ["missing"]
"""
    )
    result = project.pytester.runpytest("-k", "test_calls")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["llmtape: 0 replayed, 0 recorded, 1 missing"])


def test_a_swallowed_miss_still_fails_the_test(project: Project) -> None:
    project.pytester.makepyfile(
        test_swallow="""
import os

import openai


def test_swallowing_application():
    with openai.OpenAI(base_url=os.environ["LLM_BASE_URL"], api_key="k") as client:
        try:
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
        except Exception:
            pass  # an application that falls back silently
"""
    )
    result = project.pytester.runpytest("test_swallow.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*llmtape: no recording for POST *",
            "*to record it: pytest --record test_swallow.py::test_swallowing_application",
        ]
    )


def test_a_miss_in_a_fixture_errors_the_test_that_set_it_up(project: Project) -> None:
    project.pytester.makepyfile(
        test_fixture_miss="""
import os

import openai
import pytest


@pytest.fixture
def answer():
    with openai.OpenAI(base_url=os.environ["LLM_BASE_URL"], api_key="k") as client:
        try:
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
        except openai.NotFoundError:
            pass
    return 1


def test_uses_fixture(answer):
    assert answer == 1
"""
    )
    result = project.pytester.runpytest("test_fixture_miss.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*llmtape: no recording for POST *"])


@pytest.mark.parametrize("content", ['{"request": ', '{"request": {}}'])
def test_a_broken_recording_fails_with_its_file_name_and_the_fix(project: Project, content: str) -> None:
    project.pytester.runpytest("--record").assert_outcomes(passed=1)
    (recorded,) = project.recordings.glob("*.json")
    recorded.write_text(content)
    result = project.pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "llmtape: the recording * record it again",
            f"  file: recordings/{recorded.name}",
            "  to record it again: pytest --llmtape-mode=rewrite test_chat.py::test_chat",
        ]
    )
    result.stdout.fnmatch_lines(["llmtape: 0 replayed, 0 recorded, 0 missing, 1 failed"])
    assert recorded.read_text() == content
