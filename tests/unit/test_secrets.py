"""Credential redaction and detection."""

from __future__ import annotations

import pytest

from llmtape.secrets import credential_shapes, environment_secrets, redact

OPENAI = "sk-proj-" + "a1B2c3D4" * 4
ANTHROPIC = "sk-ant-api03-" + "x" * 30
GROQ = "gsk_" + "Q" * 30
AWS = "AKIA" + "ABCDEFGHIJKLMNOP"


def test_only_credential_variables_of_some_length_are_secrets() -> None:
    environ = {
        "OPENAI_API_KEY": OPENAI,
        "HF_TOKEN": "hf_token_value",
        "DB_SECRET": "s3cr3t-value",
        "SHORT_TOKEN": "abc",
        "PATH": "/usr/bin:/bin",
        "API_KEY_FILE": "/etc/key",
    }
    assert environment_secrets(environ) == {
        OPENAI: "<OPENAI_API_KEY>",
        "hf_token_value": "<HF_TOKEN>",
        "s3cr3t-value": "<DB_SECRET>",
    }


def test_redaction_replaces_every_occurrence_at_any_depth() -> None:
    secrets = {OPENAI: "<OPENAI_API_KEY>"}
    value = {"a": [f"key={OPENAI}", {"b": OPENAI}], "n": 1, "none": None}
    assert redact(value, secrets) == {
        "a": ["key=<OPENAI_API_KEY>", {"b": "<OPENAI_API_KEY>"}],
        "n": 1,
        "none": None,
    }


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (f"x {OPENAI} y", ["OpenAI key sk-pro…"]),
        (ANTHROPIC, ["Anthropic key sk-ant…"]),
        (f'"{GROQ}"', ["Groq key gsk_QQ…"]),
        ("Authorization: Bearer " + "t" * 30, ["bearer token Bearer…"]),
        (f"id {AWS} end", ["AWS access key AKIAAB…"]),
        ("sk-short and gsk_tiny and the word Bearer alone", []),
    ],
)
def test_credential_shapes(text: str, found: list[str]) -> None:
    assert credential_shapes(text) == found
