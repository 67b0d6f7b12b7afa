"""Error statuses replay with their bodies and headers; repeated requests replay in the order sent."""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import openai
import pytest

import llmtape
from tests.conftest import NetworkGuard, Server
from tests.e2e.roundtrip import round_trip

MESSAGES = [{"role": "user", "content": "retry me"}]


EXCEPTIONS = {
    400: "BadRequestError",
    401: "AuthenticationError",
    404: "NotFoundError",
    429: "RateLimitError",
    500: "InternalServerError",
    503: "InternalServerError",
}


@pytest.mark.parametrize("status", sorted(EXCEPTIONS))
def test_error_statuses_replay_as_the_same_exception(
    status: int, server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    def call() -> tuple[str, int, str, object]:
        with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
            try:
                client.chat.completions.create(
                    model="m", messages=MESSAGES, extra_headers={"x-test-status": str(status)}
                )
            except openai.APIStatusError as error:
                return type(error).__name__, error.status_code, str(error), error.body
        raise AssertionError("no error")

    name, code, message, body = round_trip(server, tmp_path, network, call)
    assert (name, code) == (EXCEPTIONS[status], status)
    assert f"injected status {status}" in message
    assert isinstance(body, dict)
    (recording,) = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert recording["response"]["status"] == status
    assert recording["response"]["headers"]["retry-after"] == "0"
    assert recording["response"]["body"]["__data__"]["error"]["message"] == f"injected status {status}"


def test_a_retry_after_429_replays_the_429_then_the_answer(
    server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    def call() -> str | None:
        with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=2) as client:
            completion = client.chat.completions.create(
                model="m", messages=MESSAGES, extra_headers={"x-test-fail-first": "429"}
            )
        return completion.choices[0].message.content

    assert (
        round_trip(server, tmp_path, network, call) == "You said: retry me. This conversation has 1 messages."
    )
    first, second = sorted(tmp_path.glob("*.json"), key=lambda p: len(p.name))
    assert second.name == first.name.replace(".json", ".2.json")
    assert json.loads(first.read_text())["response"]["status"] == 429
    assert json.loads(second.read_text())["response"]["status"] == 200


def test_anthropic_retries_an_overloaded_answer_offline(
    server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    def call() -> str:
        with anthropic.Anthropic(
            base_url=f"http://127.0.0.1:{server.port}", api_key="k", max_retries=1
        ) as client:
            message = client.messages.create(
                model="claude-example",
                max_tokens=16,
                messages=MESSAGES,
                extra_headers={"x-test-fail-first": "503"},
            )
        return message.content[0].text  # type: ignore[union-attr]

    assert round_trip(server, tmp_path, network, call) == "Echo: retry me"
    assert len(list(tmp_path.glob("*.json"))) == 2


def test_regenerating_replays_each_answer_in_order(
    server: Server, tmp_path: Path, network: NetworkGuard
) -> None:
    def call() -> list[str]:
        with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
            return [client.chat.completions.create(model="m", messages=MESSAGES).id for _ in range(3)]

    ids = round_trip(server, tmp_path, network, call)
    assert len(set(ids)) == 3  # the server answered each with a fresh id, and replay kept them apart


def test_a_repeat_beyond_the_recorded_ones_is_a_miss_that_says_so(server: Server, tmp_path: Path) -> None:
    with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
        with llmtape.tape(tmp_path, mode="record"):
            client.chat.completions.create(model="m", messages=MESSAGES)
        with llmtape.tape(tmp_path, strict=False) as replay:
            client.chat.completions.create(model="m", messages=MESSAGES)
            with pytest.raises(openai.NotFoundError):
                client.chat.completions.create(model="m", messages=MESSAGES)
    (miss,) = [call for call in replay.calls if call.outcome is llmtape.Outcome.MISSING]
    assert miss.error is not None
    assert "this test sent the same request 2 times; the first 1 replayed" in miss.error
    assert miss.path.name.endswith(".2.json")
