"""Calls to a hosted LLM API through an HTTP stack llmtape does not intercept: in replay mode the test fails
at once, before any connection; in record mode the summary names them; other hosts are never touched."""

from __future__ import annotations

import json

import pytest

from tests.plugin.conftest import Project

# The project's conftest stands in for DNS: it answers lookups of the hosted APIs with an error and
# notes each one, so that no test here can reach a resolver, and the tests can tell what got past llmtape.
# Each run is a subprocess, so that the stand-in is in place before llmtape starts watching lookups.
LOOKUPS = """
import json
import os
import socket

_real = socket.getaddrinfo
SEEN = os.path.join(os.path.dirname(__file__), "lookups.json")


def _stand_in(host, port, *args, **kwargs):
    if host in ("127.0.0.1", "localhost"):
        return _real(host, port, *args, **kwargs)
    seen = []
    if os.path.exists(SEEN):
        with open(SEEN) as file:
            seen = json.load(file)
    with open(SEEN, "w") as file:
        json.dump([*seen, str(host)], file)
    raise socket.gaierror(socket.EAI_NONAME, "no DNS in this test")


socket.getaddrinfo = _stand_in
"""

ESCAPING = """
import asyncio
import http.client
import os
import urllib.request

import boto3
import pytest
import requests
import urllib3


def test_urllib():
    urllib.request.urlopen("https://api.openai.com/v1/models", timeout=5)


class CountingRetry(urllib3.Retry):
    increments = 0

    def increment(self, *args, **kwargs):
        CountingRetry.increments += 1
        return super().increment(*args, **kwargs)


def test_requests_with_retries():
    session = requests.Session()
    retry = CountingRetry(total=5, connect=5, backoff_factor=10)
    session.mount("https://", requests.adapters.HTTPAdapter(max_retries=retry))
    try:
        session.post("https://api.anthropic.com/v1/messages", json={"model": "claude"})
    finally:
        assert CountingRetry.increments == 0, "the escape was retried"


def test_boto3():
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.converse(modelId="m", messages=[{"role": "user", "content": [{"text": "hi"}]}])


def test_asyncio_socket():
    async def connect():
        await asyncio.open_connection("generativelanguage.googleapis.com", 443)

    asyncio.run(connect())


def test_thread_pool():
    from concurrent.futures import ThreadPoolExecutor

    import socket

    with ThreadPoolExecutor() as pool:
        pool.submit(socket.create_connection, ("api.mistral.ai", 443), 5).result()


def test_other_hosts_are_untouched():
    connection = http.client.HTTPConnection("127.0.0.1", int(os.environ["SERVER_PORT"]), timeout=5)
    connection.request("GET", "/stats")
    assert connection.getresponse().status == 200
"""


@pytest.fixture
def escaping(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("SERVER_PORT", str(project.server.port))
    project.pytester.makeconftest(LOOKUPS)
    project.pytester.makepyfile(test_escaping=ESCAPING)
    return project


def lookups(project: Project) -> list[str]:
    seen = project.pytester.path / "lookups.json"
    return json.loads(seen.read_text()) if seen.exists() else []


def test_in_replay_mode_an_escape_fails_at_once_naming_the_stack_and_the_fix(escaping: Project) -> None:
    result = escaping.pytester.runpytest_subprocess("test_escaping.py")

    result.assert_outcomes(passed=1, failed=5)
    result.stdout.fnmatch_lines(
        [
            "*a connection to api.openai.com:443, a hosted LLM API, was about to leave through "
            "urllib.request over http.client, which llmtape does not intercept*",
            "*fix: call the API through a client on httpx, httpx2 or aiohttp*"
            "mark the test @pytest.mark.llmtape(enabled=False)*",
            "*api.anthropic.com:443*through requests over urllib3, *",
            "*generativelanguage.googleapis.com:443*llmtape does not know (called from test_escaping)*",
            "*a connection to api.mistral.ai:443*llmtape does not know*",
            "llmtape: 0 replayed, 0 recorded, 1 missing, 4 escaped",
        ]
    )
    # boto3 is intercepted (intercept_botocore.py): its call is a miss, answered before any lookup.
    result.stdout.fnmatch_lines(["llmtape: no recording for POST https://bedrock-runtime.*/model/m/converse"])
    assert "through botocore" not in result.stdout.str()
    assert "Connection error" not in result.stdout.str()
    # Not one lookup got past llmtape, so not one connection was tried; retry loops never saw the error.
    assert lookups(escaping) == []


def test_in_record_mode_escapes_go_on_and_the_summary_names_them(escaping: Project) -> None:
    result = escaping.pytester.runpytest_subprocess("--record", "test_escaping.py", "-k", "urllib or boto3")

    result.assert_outcomes(failed=2)  # the stand-in DNS refuses, as a live lookup would have answered
    result.stdout.fnmatch_lines(
        [
            "llmtape: 0 replayed, 0 recorded, 0 missing, 1 escaped",
            "llmtape: 1 calls to hosted LLM APIs were not intercepted, nor recorded:",
            "  test_escaping.py::test_urllib: llmtape: a request to api.openai.com:443, a hosted LLM API, "
            "left through urllib.request over http.client*",
        ]
    )
    # boto3's call is llmtape's own live call, through the client's session: looked up, not an escape.
    assert "test_boto3: " not in result.stdout.str()
    assert "NetworkEscape" not in result.stdout.str()
    assert sorted(set(lookups(escaping))) == ["api.openai.com", "bedrock-runtime.us-east-1.amazonaws.com"]


def test_a_disabled_test_may_reach_the_network(escaping: Project) -> None:
    escaping.pytester.makepyfile(
        test_disabled="""
import urllib.error
import urllib.request

import pytest


@pytest.mark.llmtape(enabled=False)
def test_live_on_purpose():
    with pytest.raises(urllib.error.URLError, match="no DNS in this test"):
        urllib.request.urlopen("https://api.openai.com/v1/models", timeout=5)
"""
    )
    escaping.pytester.runpytest_subprocess("test_disabled.py").assert_outcomes(passed=1)
    assert lookups(escaping) == ["api.openai.com"]


def test_a_hosted_api_left_out_of_the_endpoints_is_an_escape_too(escaping: Project) -> None:
    escaping.pytester.makepyfile(
        test_left_out="""
import openai
import pytest


@pytest.mark.llmtape(default_endpoints=False, endpoints=["POST */v1/embeddings"])
def test_chat_left_out():
    client = openai.OpenAI(api_key="test-key", max_retries=5)
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
"""
    )
    result = escaping.pytester.runpytest_subprocess("test_left_out.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*a request to api.openai.com:443, a hosted LLM API, was about to leave through "
            "httpcore2 (httpx2)*no endpoint pattern intercepts it*",
            "*fix: add a pattern for it to llmtape_endpoints, like '* //api.openai.com/*', "
            "or keep the defaults; make the client in the test",
        ]
    )
    assert "Connection error" not in result.stdout.str()
    assert lookups(escaping) == []
