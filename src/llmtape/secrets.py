"""The secret gate: credentials are redacted before a recording is written, and a write that would
still contain one is refused."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from llmtape.jsonvalue import map_strings

CREDENTIAL_VARIABLE = re.compile(r".+_(API_KEY|TOKEN|SECRET)$")
MIN_SECRET_LENGTH = 8
SHAPES = [
    ("Anthropic key", re.compile(r"sk-ant-[A-Za-z0-9_-]{20,}")),
    ("OpenAI key", re.compile(r"sk-(?!ant-)[A-Za-z0-9_-]{20,}")),
    ("Groq key", re.compile(r"gsk_[A-Za-z0-9]{20,}")),
    ("bearer token", re.compile(r"Bearer [A-Za-z0-9._~+/=-]{20,}")),
    ("AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
]


def environment_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """Values of variables named like credentials (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``)."""
    # Read on every request (a test may set its key at any time), so only the names are matched,
    # each once per process, and only the values of matching names are read.
    found = {}
    for name in [name for name in environ if _credential_name(name)]:
        value = environ.get(name, "")
        if len(value) >= MIN_SECRET_LENGTH:
            found[value] = f"<{name}>"
    return found


@functools.cache
def _credential_name(name: str) -> bool:
    return CREDENTIAL_VARIABLE.fullmatch(name) is not None


def redact(value: Any, secrets: Mapping[str, str]) -> Any:
    """A copy of a JSON value with every occurrence of each secret replaced by ``<VARIABLE_NAME>``."""
    if not secrets:
        return value

    def change(text: str) -> str:
        for secret, placeholder in secrets.items():
            text = text.replace(secret, placeholder)
        return text

    return map_strings(value, change)


def credential_shapes(text: str) -> list[str]:
    """What looks like a credential in ``text``, each shown masked: ``OpenAI key sk-pro…``."""
    return [f"{kind} {match[:6]}…" for kind, pattern in SHAPES for match in pattern.findall(text)]
