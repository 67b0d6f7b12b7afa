"""The secret gate: a key used while recording never reaches disk; other credentials stop the write."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import pytest

from tests.fake_credentials import credentials, random_text
from tests.plugin.conftest import Project

ECHO = """
import os

from test_chat import chat


def test_echo():
    assert "You said:" in chat(os.environ["SPOKEN"])
"""
KEY = credentials()["OpenAI key"]


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


def pieces(secret: str, length: int = 6) -> list[str]:
    """Each run of ``length`` characters of ``secret`` past what a mask shows: none may be stored or shown."""
    return [secret[i : i + length] for i in range(6, len(secret) - length + 1)]


def leaks(text: str, secret: str) -> list[str]:
    return [piece for piece in pieces(secret) if piece in text]


TOOL_ECHO = """
import os

import openai

TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]


def test_echo():
    messages = [{"role": "user", "content": os.environ["SPOKEN"]}]
    with openai.OpenAI(base_url=os.environ["LLM_BASE_URL"], api_key="test-key") as client:
        stream = client.chat.completions.create(model="gpt-4o", messages=messages, tools=TOOLS, stream=True)
        with stream as chunks:
            arguments = "".join(
                c.choices[0].delta.tool_calls[0].function.arguments or ""
                for c in chunks
                if c.choices and c.choices[0].delta.tool_calls
            )
    assert arguments.startswith('{"query": "my key is ')
"""


def test_an_environment_key_streamed_a_few_characters_per_chunk_is_redacted(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a server that streams the tool call's arguments, which quote the key, 7 characters per chunk
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("SPOKEN", f"my key is {KEY}")
    project.pytester.makepyfile(test_echo=TOOL_ECHO)
    # When it is recorded
    project.pytester.runpytest("--record", "test_echo.py").assert_outcomes(passed=1)
    # Then no chunk keeps a piece of the key, and the arguments put together read the placeholder
    text = all_text(project)
    assert leaks(text, KEY) == []
    (recording,) = project.files()
    chunks = recording["response"]["body"]  # type: ignore[index]
    arguments = "".join(
        c["__data__"]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] or ""
        for c in chunks
        if c["__data__"]["choices"] and c["__data__"]["choices"][0]["delta"]["tool_calls"]
    )
    assert arguments == '{"query": "my key is <OPENAI_API_KEY>"}'
    project.pytester.runpytest("test_echo.py").stdout.fnmatch_lines(
        ["llmtape: 1 replayed, 0 recorded, 0 missing"]
    )


@pytest.mark.parametrize("variable", ["AZURE_OPENAI_KEY", "SEARCH_SERVICE_PASSWORD", "GITHUB_TOKEN"])
def test_credential_variables_of_every_naming_are_redacted(
    project: Project, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    secret = random_text(32, "0123456789abcdef")  # an Azure OpenAI key has no shape of its own
    monkeypatch.setenv(variable, secret)
    monkeypatch.setenv("SPOKEN", f"my key is {secret}")
    project.pytester.makepyfile(test_echo=ECHO)
    project.pytester.runpytest("--record", "test_echo.py").assert_outcomes(passed=1)
    text = all_text(project)
    assert leaks(text, secret) == []
    assert f"You said: my key is <{variable}>" in text


QUERY = """
import os

import openai

MESSAGES = [{"role": "user", "content": "hi"}]


def test_query():
    query = {"auth": os.environ["SERVICE_TOKEN"]}
    base_url = os.environ["LLM_BASE_URL"]
    with openai.OpenAI(base_url=base_url, api_key="test-key", default_query=query) as client:
        completion = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert completion.choices[0].message.content.startswith("You said: hi")
"""


def test_an_environment_secret_url_encoded_in_a_query_parameter_is_redacted(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a secret that URL-encoding changes, sent in a query parameter of no credential name
    secret = "Tk/" + random_text(16) + "+=&"
    monkeypatch.setenv("SERVICE_TOKEN", secret)
    project.pytester.makepyfile(test_query=QUERY)
    project.pytester.runpytest("--record", "test_query.py").assert_outcomes(passed=1)
    # Then the stored URL holds the placeholder, and no form of the secret is stored
    text = all_text(project)
    for form in (secret, quote(secret, safe=""), quote_plus(secret)):
        assert form not in text
    (recording,) = project.files()
    assert recording["request"]["url"].endswith("/chat/completions?auth=<SERVICE_TOKEN>")  # type: ignore[index]
    project.pytester.runpytest("test_query.py").stdout.fnmatch_lines(
        ["llmtape: 1 replayed, 0 recorded, 0 missing"]
    )


PATH_KEY = """
import os

import openai

MESSAGES = [{"role": "user", "content": "hi"}]


def test_path():
    base_url = os.environ["LLM_BASE_URL"] + "/keys/" + os.environ["GEMINI_API_KEY"]
    with openai.OpenAI(base_url=base_url, api_key="test-key") as client:
        completion = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert completion.choices[0].message.content.startswith("You said: hi")
"""


def test_a_recording_made_with_an_environment_key_in_the_url_path_replays(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = credentials()["Google API key"]
    monkeypatch.setenv("GEMINI_API_KEY", key)
    project.pytester.makepyfile(test_path=PATH_KEY)
    project.pytester.runpytest("--record", "test_path.py").assert_outcomes(passed=1)
    (recording,) = project.files()
    assert recording["request"]["endpoint"] == "/v1/keys/<GEMINI_API_KEY>/chat/completions"  # type: ignore[index]
    assert leaks(all_text(project), key) == []
    result = project.pytester.runpytest("test_path.py")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["llmtape: 1 replayed, 0 recorded, 0 missing"])


MISSING_QUERY = QUERY.replace('{"auth": os.environ["SERVICE_TOKEN"]}', '{"key": os.environ["SPOKEN"]}')


def test_a_miss_message_shows_no_credential_query_parameter(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a request whose URL carries a key in ?key=, not in the environment, and no recording of it
    secret = random_text(39)
    monkeypatch.setenv("SPOKEN", secret)
    project.pytester.makepyfile(test_query=MISSING_QUERY)
    # When it misses in replay
    result = project.pytester.runpytest("test_query.py", "--junitxml=report.xml")
    # Then neither the terminal nor the JUnit report shows the key
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"llmtape: no recording for POST {project.server.base_url}/chat/completions (*"]
    )
    assert leaks(result.stdout.str(), secret) == []
    assert leaks((project.pytester.path / "report.xml").read_text(), secret) == []


def test_a_miss_diff_shows_no_credential_the_gate_refused(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a recording of "hello", and a test that sends a key the gate refuses to write
    project.pytester.runpytest("--record", "test_chat.py").assert_outcomes(passed=1)
    monkeypatch.setenv("SPOKEN", f"my key is {KEY}")
    project.pytester.makepyfile(test_echo=ECHO)
    refused = project.pytester.runpytest("--record", "test_echo.py", "--junitxml=record.xml")
    refused.assert_outcomes(failed=1)
    # When it runs in replay, where the closest recording's diff shows what was sent
    result = project.pytester.runpytest("test_echo.py", "--junitxml=replay.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["    body.messages[[]0[]].content: 'hello' != 'my key is sk-pro…'"])
    # Then the key shows nowhere: terminal and JUnit report, in record and replay mode
    for text in (
        refused.stdout.str(),
        result.stdout.str(),
        (project.pytester.path / "record.xml").read_text(),
        (project.pytester.path / "replay.xml").read_text(),
    ):
        assert leaks(text, KEY) == []


@pytest.mark.parametrize(
    "kind", ["JSON Web Token", "Google API key", "Hugging Face token", "Basic credentials"]
)
def test_credentials_of_other_formats_stop_the_write(
    project: Project, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    credential = credentials(seed=7)[kind]
    monkeypatch.setenv("SPOKEN", f"use {credential} to sign in")
    project.pytester.makepyfile(test_echo=ECHO)
    result = project.pytester.runpytest("--record", "test_echo.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"llmtape: refused to write a recording containing {kind} *"])
    assert list(project.recordings.glob("*.json")) == []
    assert leaks(result.stdout.str(), credential.removeprefix("Basic ")) == []


def test_hyphenated_prose_is_no_credential(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    # (Split in two here, so that repository secret scanners do not read these lines as keys.)
    framework = "risk-management-" + "framework-for-2025"
    monkeypatch.setenv("SPOKEN", f"our {framework} and the task-skeleton-" + "for-2024-q3")
    project.pytester.makepyfile(test_echo=ECHO)
    project.pytester.runpytest("--record", "test_echo.py").assert_outcomes(passed=1)
    assert framework in all_text(project)


UNKEYABLE = """
import os

import httpx


def test_unkeyable():
    url = os.environ["LLM_BASE_URL"] + "/chat/completions?api_key=" + os.environ["SPOKEN"]
    headers = {"authorization": "Bearer k", "content-type": "multipart/form-data"}  # names no boundary
    httpx.post(url, content=b"--x\\r\\n\\r\\nnot a form\\r\\n--x--\\r\\n", headers=headers)
"""


def test_a_failure_message_shows_no_credential_query_parameter(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = random_text(40)
    monkeypatch.setenv("SPOKEN", secret)
    project.pytester.makepyfile(test_unkeyable=UNKEYABLE)
    result = project.pytester.runpytest("--record", "test_unkeyable.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*multipart/form-data body is malformed*"])
    assert leaks(result.stdout.str(), secret) == []
