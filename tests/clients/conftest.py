"""Which environment runs which client's tests: each module here is listed with the stacks that hold its
client. ``main`` is the project's own environment (``pip install -e '.[test]'``); the others are the nox
sessions of ``noxfile.py``, which set ``LLMTAPE_TEST_STACK``. A module missing from the table fails the run,
so that no client's tests are left out of every environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

STACK = os.environ.get("LLMTAPE_TEST_STACK", "main")
STACKS: dict[str, frozenset[str]] = {
    "test_llama_index.py": frozenset({"openai2"}),
    "test_instructor.py": frozenset({"openai2"}),
    "test_langchain_groq.py": frozenset({"openai2"}),
    "test_litellm.py": frozenset({"main", "openai2"}),
    "test_mistralai.py": frozenset({"main"}),
    "test_pydantic_ai.py": frozenset({"main"}),
    "test_openai_agents.py": frozenset({"main"}),
    "test_bedrock.py": frozenset({"main"}),  # boto3 over urllib3, aiobotocore over aiohttp
    # Their async clients take aiohttp where it is installed (main) and httpx/httpx2 where not (plain).
    "test_google_genai.py": frozenset({"main", "plain"}),
    "test_cohere.py": frozenset({"main", "plain"}),
}


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    stacks = STACKS.get(collection_path.name)
    if stacks is None:
        raise pytest.UsageError(
            f"tests/clients/{collection_path.name} is not listed in STACKS of tests/clients/conftest.py; "
            "add it with the environments that hold its client"
        )
    return True if STACK not in stacks else None  # None: --ignore and the other rules still apply
