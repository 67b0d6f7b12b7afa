"""Drift mode's live side on its own: what it sends again, and what it does not count as drift."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest

import llmtape
from llmtape.config import is_compared
from llmtape.drift_check import DriftCheck
from tests.conftest import Server

ASK = {"model": "gpt-4o", "messages": [{"role": "user", "content": "What is the weather in Paris?"}]}


@pytest.mark.parametrize(
    ("method", "path", "compared"),
    [
        ("POST", "/v1/chat/completions", True),
        ("POST", "/v1/responses", True),
        ("POST", "/v1/messages", True),
        ("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", True),
        ("POST", "/api/chat", True),
        ("POST", "/model/anthropic.claude-3-haiku/converse", True),
        ("POST", "/v1/embeddings", True),
        # what creates, changes or deletes state is never sent twice
        ("POST", "/v1/files", False),
        ("DELETE", "/v1/files/file-abc", False),
        ("POST", "/v1/vector_stores", False),
        ("POST", "/v1/responses/resp_123/cancel", False),
        ("GET", "/v1/responses/resp_123", False),
        ("POST", "/v1/threads/thread_1/runs", False),
        ("POST", "/v1/images/generations", False),
    ],
)
def test_only_the_calls_a_model_answers_are_sent_again(method: str, path: str, compared: bool) -> None:
    assert is_compared(method, path) is compared


@pytest.mark.parametrize("status", [401, 429, 503])
def test_a_live_answer_that_says_nothing_of_the_model_is_a_failed_check_not_drift(
    status: int, server: Server, tmp_path: Path
) -> None:
    with (
        llmtape.tape(tmp_path, mode="record"),
        openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=0) as client,
    ):
        client.chat.completions.create(**ASK)  # type: ignore[call-overload]
    (path,) = tmp_path.glob("*.json")
    check = DriftCheck()
    request = httpx.Request(
        "POST",
        f"{server.base_url}/chat/completions",
        json=ASK,
        headers={"authorization": "Bearer test-key", "x-test-status": str(status)},
    )
    check.check(request, path, "test_weather")
    (entry,) = check.finish().entries
    assert entry.drift is None
    assert entry.error is not None
    assert entry.error.startswith(f"the live API answered {status}")
    assert not check.report.structural()
