"""Redaction of credentials from the environment: every variable named like one, in every wire form."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote, quote_plus

import pytest

from llmtape.jsondiff import json_diff
from llmtape.secrets import environment_secrets, masked, recording_shapes, redact, redact_recording
from tests.fake_credentials import credentials, random_text

OPENAI = credentials()["OpenAI key"]


def test_only_credential_variables_of_some_length_are_secrets() -> None:
    azure = random_text(32, "0123456789abcdef")
    environ = {
        "OPENAI_API_KEY": OPENAI,
        "HF_TOKEN": "hf_token_value",
        "DB_SECRET": "s3cr3t-value",
        "AZURE_OPENAI_KEY": azure,
        "DB_PASSWORD": "correct horse battery",
        "SHORT_TOKEN": "abc",
        "PATH": "/usr/bin:/bin",
        "API_KEY_FILE": "/etc/key",
        "SORT_KEY": "created_at",  # a bare *_KEY counts only if its value looks like a key
    }
    found = environment_secrets(environ)
    assert {found[value] for value in (OPENAI, "hf_token_value", "s3cr3t-value", azure)} == {
        "<OPENAI_API_KEY>",
        "<HF_TOKEN>",
        "<DB_SECRET>",
        "<AZURE_OPENAI_KEY>",
    }
    assert found["correct horse battery"] == "<DB_PASSWORD>"
    assert set(found.values()) == {
        "<OPENAI_API_KEY>",
        "<HF_TOKEN>",
        "<DB_SECRET>",
        "<AZURE_OPENAI_KEY>",
        "<DB_PASSWORD>",
    }


def test_redaction_replaces_every_occurrence_at_any_depth() -> None:
    secrets = {OPENAI: "<OPENAI_API_KEY>"}
    value = {"a": [f"key={OPENAI}", {"b": OPENAI}], "n": 1, "none": None}
    assert redact(value, secrets) == {
        "a": ["key=<OPENAI_API_KEY>", {"b": "<OPENAI_API_KEY>"}],
        "n": 1,
        "none": None,
    }


# A value that each wire encoding changes: a slash, a plus, an equals sign, a quote, a space, non-ASCII.
AWKWARD = "Pa55/wo+rd=" + '"qu ot€d"' + random_text(8)
ENVIRON = {"SERVICE_PASSWORD": AWKWARD}


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(AWKWARD, id="raw"),
        pytest.param(quote(AWKWARD, safe=""), id="url-encoded"),
        pytest.param(re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(), quote(AWKWARD)), id="lower-case-hex"),
        pytest.param(quote(AWKWARD), id="url-encoded-path"),
        pytest.param(quote_plus(AWKWARD), id="form-encoded"),
        pytest.param(json.dumps(AWKWARD)[1:-1], id="json-escaped"),
        pytest.param(json.dumps(AWKWARD, ensure_ascii=False)[1:-1], id="json-escaped-utf8"),
    ],
)
def test_a_secret_is_redacted_in_each_of_its_wire_forms(form: str) -> None:
    text = f"https://search.example/v1?q=otters&auth={form}&page=2"
    assert redact(text, environment_secrets(ENVIRON)) == (
        "https://search.example/v1?q=otters&auth=<SERVICE_PASSWORD>&page=2"
    )


@pytest.mark.parametrize("user", ["a", "ab", "abc", "service-account"])
def test_a_secret_inside_basic_credentials_is_redacted_whatever_the_user_name(user: str) -> None:
    header = "Basic " + base64.b64encode(f"{user}:{AWKWARD}".encode()).decode()
    redacted = redact(f"Authorization: {header}", environment_secrets(ENVIRON))
    assert "<SERVICE_PASSWORD>" in redacted
    # What is left of the base64 no longer decodes to the password, nor to any 4 of its characters.
    assert header.split()[1] not in redacted
    left = redacted.split("Basic ")[1].split("<")[0]
    assert AWKWARD[:4] not in base64.b64decode(left[: len(left) // 4 * 4] or "").decode(errors="ignore")


def test_secret_forms_are_derived_once_per_set_of_values() -> None:
    assert environment_secrets(dict(ENVIRON)) is environment_secrets(dict(ENVIRON))
    assert environment_secrets({"SERVICE_PASSWORD": AWKWARD + "x"}) is not environment_secrets(ENVIRON)


def _stream(*pieces: str) -> dict[str, object]:
    """A recording of a streamed answer whose text arrived in these pieces."""
    chunks = [
        {"__type__": "json", "__data__": {"id": "c1", "choices": [{"delta": {"content": piece}}]}}
        for piece in pieces
    ]
    return {
        "request": {
            "method": "POST",
            "url": "http://h/v1/chat/completions",
            "endpoint": "/v1/chat/completions",
        },
        "response": {"status": 200, "headers": {}, "is_streaming": True, "body": chunks},
        "llmtape": {"format": 1},
    }


def _contents(recording: dict[str, object]) -> list[str]:
    return [c["__data__"]["choices"][0]["delta"]["content"] for c in recording["response"]["body"]]  # type: ignore[index]


def test_a_secret_sent_a_few_characters_per_chunk_is_redacted_across_the_chunks() -> None:
    # Given the server echoed the key three characters at a time
    text = f"your key is {OPENAI}, keep it safe"
    pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
    secrets = environment_secrets({"OPENAI_API_KEY": OPENAI})
    # When the recording is redacted
    redacted = redact_recording(_stream(*pieces), secrets)  # type: ignore[arg-type]
    # Then the text put together reads the placeholder, no chunk holds any piece of the key,
    # and every chunk but those of the key is unchanged
    contents = _contents(redacted)  # type: ignore[arg-type]
    assert "".join(contents) == "your key is <OPENAI_API_KEY>, keep it safe"
    assert len(contents) == len(pieces)
    assert not any(piece in OPENAI for piece in contents if len(piece) >= 2 and "<" not in piece)
    assert contents[:4] == pieces[:4]
    assert [c["__data__"]["id"] for c in redacted["response"]["body"]] == ["c1"] * len(pieces)  # type: ignore[index]


def test_a_secret_within_one_chunk_and_an_unchanged_stream_are_left_as_they_are() -> None:
    secrets = environment_secrets({"OPENAI_API_KEY": OPENAI})
    assert _contents(redact_recording(_stream("a ", OPENAI, " b"), secrets)) == [
        "a ",
        "<OPENAI_API_KEY>",
        " b",
    ]  # type: ignore[arg-type]
    assert _contents(redact_recording(_stream("a ", "b"), secrets)) == ["a ", "b"]  # type: ignore[arg-type]


def test_a_credential_shape_spanning_chunks_is_found() -> None:
    key = credentials(seed=3)["Groq key"]
    recording = _stream("here: ", key[:10], key[10:30], key[30:], " done")
    assert recording_shapes(recording) == [f"Groq key {key[:6]}…"]  # type: ignore[arg-type]


def test_a_message_shows_no_secret() -> None:
    key, token = credentials()["Anthropic key"], random_text(24)
    message = (
        f"llmtape: no recording for GET https://h.example/v1/models?key={token}&limit=2&api_key={token}\n"
        f"  body.messages[0].content: 'hi' != 'use {key} and {OPENAI}'"
    )
    shown = masked(message, {"OPENAI_API_KEY": OPENAI})
    assert token not in shown
    assert key[6:] not in shown
    assert "https://h.example/v1/models?limit=2" in shown
    assert "'use sk-ant… and <OPENAI_API_KEY>'" in shown


def test_a_difference_cut_short_shows_no_piece_of_a_credential() -> None:
    # The value is cut at 80 characters, in the middle of the key: masked first, nothing of it is left.
    (line,) = json_diff({"content": "hello"}, {"content": "why " * 15 + OPENAI})
    assert f"{OPENAI[:6]}…" in line
    assert OPENAI[6:12] not in line
