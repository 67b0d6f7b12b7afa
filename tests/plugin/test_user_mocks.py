"""Installing llmtape never changes the outcome of a test that mocks an LLM endpoint itself:
llmtape sits below the user's mocks and answers only what would otherwise reach the network."""

from __future__ import annotations

import pytest

from tests.plugin.conftest import Project

ASK = """
import os

import groq
import httpx
import pytest
import respx

BASE = os.environ["LLM_BASE_URL"].removesuffix("/v1")  # groq appends /openai/v1/chat/completions
MOCKED = {
    "id": "mocked", "object": "chat.completion", "created": 0, "model": "m",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "mocked"}}],
}


def ask(http_client=None):
    with groq.Groq(base_url=BASE, api_key="k", max_retries=0, http_client=http_client) as client:
        messages = [{"role": "user", "content": "is this mocked?"}]
        return client.chat.completions.create(model="m", messages=messages).choices[0].message.content
"""

MOCKING_TESTS = {
    "respx": """
def test_mock():
    with respx.mock(assert_all_called=False) as mock:
        mock.post(url__regex=r".*/chat/completions").respond(json=MOCKED)
        assert ask() == "mocked"
""",
    "respx-catch-all": """
def test_mock():
    with respx.mock(assert_all_called=False) as mock:
        mock.post(url__regex=r".*/chat/completions").respond(json=MOCKED)
        mock.route().pass_through()
        assert ask() == "mocked"
""",
    "pytest-httpx": """
def test_mock(httpx_mock):
    httpx_mock.add_response(json=MOCKED)
    assert ask() == "mocked"
""",
    "mock-transport": """
def test_mock():
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=MOCKED))
    assert ask(httpx.Client(transport=transport)) == "mocked"
""",
}


@pytest.mark.parametrize("style", sorted(MOCKING_TESTS))
@pytest.mark.parametrize("mode", ["replay", "record"])
def test_a_users_mock_of_an_llm_endpoint_answers_as_without_llmtape(
    project: Project, style: str, mode: str
) -> None:
    project.pytester.makepyfile(test_mocked=ASK + MOCKING_TESTS[style])
    without = project.pytester.runpytest_subprocess("-p", "no:llmtape", "test_mocked.py")
    with_llmtape = project.pytester.runpytest_subprocess(f"--llmtape-mode={mode}", "test_mocked.py")
    assert without.parseoutcomes() == with_llmtape.parseoutcomes() == {"passed": 1}
    with_llmtape.stdout.fnmatch_lines(["llmtape: 0 replayed, 0 recorded, 0 missing"])
    assert project.server.served() == 0
    assert project.files() == []


USER_ROUTER_FIRST = """
import respx

router = respx.mock(assert_all_called=False)


def pytest_configure(config):
    # Started before llmtape's own interception, which begins with the session.
    router.route(url__regex=r".*/unrelated").respond(json={"unrelated": True})
    router.route().pass_through()
    router.start()


def pytest_unconfigure(config):
    router.stop()
"""

CALLS = (
    ASK
    + """
def test_llm_call():
    assert ask().startswith("You said: is this mocked?")


def test_unrelated_call_is_mocked():
    assert httpx.get(BASE + "/unrelated").json() == {"unrelated": True}
"""
)


def test_a_user_router_started_first_with_a_catch_all_pass_through_still_reaches_llmtape(
    project: Project,
) -> None:
    project.pytester.makeconftest(USER_ROUTER_FIRST)
    project.pytester.makepyfile(test_calls=CALLS)
    project.pytester.runpytest_subprocess("--record", "test_calls.py").assert_outcomes(passed=2)
    assert project.server.served() == 1
    # Replay: the LLM call, passed through by the user's router, is replayed, not sent.
    replayed = project.pytester.runpytest_subprocess("test_calls.py")
    replayed.assert_outcomes(passed=2)
    replayed.stdout.fnmatch_lines(["llmtape: 1 replayed, 0 recorded, 0 missing"])
    assert project.server.served() == 1
    # A miss fails with llmtape's explanation instead of reaching the network.
    for path in project.recordings.glob("*.json"):
        path.unlink()
    missed = project.pytester.runpytest_subprocess("test_calls.py")
    missed.assert_outcomes(passed=1, failed=1)
    missed.stdout.fnmatch_lines(
        ["*llmtape: no recording for POST http://127.0.0.1:*/openai/v1/chat/completions *"]
    )
    assert project.server.served() == 1
