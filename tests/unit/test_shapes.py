"""Credential shapes: every format the gate knows is found, and ordinary text never trips it."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from llmtape.format.recording import parse
from llmtape.secrets import recording_shapes
from llmtape.shapes import credential_shapes, mask, masked_shapes
from tests.fake_credentials import basic, credentials, random_text

ROOT = Path(__file__).resolve().parents[2]
CREDENTIALS = credentials()


@pytest.mark.parametrize(("name", "value"), CREDENTIALS.items(), ids=list(CREDENTIALS))
@pytest.mark.parametrize("around", ["{}", "x {} y", '"{}"', "key={}&a=1", "({})", "{}\n"])
def test_each_credential_format_is_found_wherever_it_stands(name: str, value: str, around: str) -> None:
    kind = name.split(" (")[0]
    found = credential_shapes(around.format(value))
    assert f"{kind} {mask(value)}" in found


@pytest.mark.parametrize(
    "text",
    [
        # Words that end in "sk" before a hyphen, and hyphenated prose after "sk-".
        # (Split in two here, so that repository secret scanners do not read these lines as keys.)
        "our risk-management-" + "framework-for-2025 review",
        "the task-skeleton-"
        + "for-2024-q3 template, a disk-usage-"
        + "alerting-for-q3 project, ask-me-anything",
        "sk-management-" + "framework-for-2025-and-beyond",
        "Sk-Management-Framework-For-The-Year-2025",
        "sk-learn, sk-..., sk-proj-" + "x" * 24 + ", sk-proj-" + "X" * 28,
        "sk-proj-" + "abc123" * 5,  # a repeated placeholder, not a random key
        # Prefixes inside other words, or of the wrong length.
        "use_hf_transfer and hf_hub_download, xoxo, the gsk_ prefix, AIza is Google's prefix",
        "hf_" + "a" * 34,
        # Authentication schemes named in prose.
        "Bearer authentication and Basic authentication both use the Authorization header",
        "Authorization: Bearer YOUR_TOKEN_HERE, Bearer <token>, Bearer ${OPENAI_API_KEY}",
        "bearer-token-based-authentication-for-internal-services",
        "Bearer " + "tokens-are-described-in-rfc-6750-section-two",
        "Basic usage: Basic dXNlcg== has no password",  # "user", no colon
        # JWT-like and AWS-like text that is not one.
        "eyJustSomething.eyJustMoreText.abcdefghijk",
        "AKIA" + "IOSFODNN7EXAMPLE is the key AWS documents",
        # Hashes, ids and model names.
        "chatcmpl-"
        + random_text(24, "0123456789abcdef")
        + " claude-3-5-sonnet-20241022 gpt-4o-mini-2024-07-18",
        "sha256:" + random_text(64, "0123456789abcdef"),
    ],
)
def test_ordinary_text_is_no_credential(text: str) -> None:
    assert credential_shapes(text) == []


def test_basic_credentials_of_a_real_password_are_found() -> None:
    assert credential_shapes(f"Authorization: {basic('ada', 'lovelace-1815')}") == [
        "Basic credentials Basic…"
    ]


def test_a_mask_shows_six_characters_at_most() -> None:
    text = " ".join(CREDENTIALS.values())
    shown = masked_shapes(text)
    for value in CREDENTIALS.values():
        assert value not in shown
        assert value[6:14] not in shown
    assert all(len(m.split(" ")[-1]) <= 7 for m in credential_shapes(text))


DATA = ROOT / "tests" / "data"
RECORDINGS = sorted((ROOT / "recordings").glob("*.json"))
LLAMA_STACK = sorted((DATA / "llama-stack-recordings").glob("*.json"))
PROSE = sorted((DATA / "prose").glob("*.txt"))


def prose(path: Path) -> str:
    """A corpus file as written: compounds whose ``sk-`` repository secret scanners would read as a key
    are stored with ``sk~`` (see tests/data/README.md)."""
    return path.read_text().replace("sk~", "sk-")


def test_the_corpora_are_there() -> None:
    assert len(RECORDINGS) > 50
    assert len(LLAMA_STACK) == 47
    assert sum(len(p.read_text().split()) for p in PROSE) > 6000
    # The compound that once tripped the gate is in the corpus, once its hyphens are restored.
    assert "risk-management-" + "framework-for-2025" in prose(
        DATA / "prose" / "hyphenated-technical-english.txt"
    )


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name[:12])
def test_no_false_positive_in_the_projects_recordings(path: Path) -> None:
    assert recording_shapes(parse(path.read_bytes(), path)) == []


@pytest.mark.parametrize("path", LLAMA_STACK, ids=lambda p: p.name)
def test_no_false_positive_in_llama_stacks_recordings(path: Path) -> None:
    text = "\n".join(_strings(orjson.loads(path.read_bytes())))
    assert credential_shapes(text) == []


@pytest.mark.parametrize("path", PROSE, ids=lambda p: p.name)
def test_no_false_positive_in_prose(path: Path) -> None:
    text = prose(path)
    assert credential_shapes(text) == []
    # Nor line by line, nor as JSON would hold it.
    assert [line for line in text.splitlines() if credential_shapes(line)] == []
    assert credential_shapes(orjson.dumps(text).decode()) == []


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (str(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []
