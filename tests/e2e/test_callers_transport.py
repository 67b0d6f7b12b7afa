"""Record and live modes send through the caller's own client: its CA, its pool, its redirects."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import trustme

import llmtape
from tests.conftest import NetworkGuard, Server, start_server
from tests.e2e.roundtrip import round_trip

MESSAGES = [{"role": "user", "content": "over TLS"}]


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[tuple[Server, ssl.SSLContext]]:
    """A server with a certificate from a private CA, and a client context that trusts only that CA."""
    ca = trustme.CA()
    pem = tmp_path / "server.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(pem))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    live = start_server("--tls", str(pem), str(pem))
    yield live, ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    live.stop()


@pytest.mark.parametrize("mode", ["record", "live"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_a_client_that_trusts_a_private_ca_records_through_its_own_pool(
    tls: tuple[Server, ssl.SSLContext], tmp_path: Path, mode: str, stream: bool
) -> None:
    server, trusted = tls
    base_url = f"https://127.0.0.1:{server.port}/v1"
    http_client = openai.DefaultHttpxClient(verify=trusted)
    with (
        openai.OpenAI(base_url=base_url, api_key="k", max_retries=0, http_client=http_client) as client,
        llmtape.tape(tmp_path / "recordings", mode=mode) as tape,
    ):
        if stream:
            with client.chat.completions.create(model="m", messages=MESSAGES, stream=True) as chunks:
                text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            answer = client.chat.completions.create(model="m", messages=MESSAGES)
            text = answer.choices[0].message.content or ""
    assert text.startswith("You said: over TLS")
    assert [c.outcome for c in tape.calls] == ["recorded" if mode == "record" else "live"]


def test_an_async_client_that_trusts_a_private_ca_records_through_its_own_pool(
    tls: tuple[Server, ssl.SSLContext], tmp_path: Path
) -> None:
    server, trusted = tls

    async def ask() -> str:
        async with openai.AsyncOpenAI(
            base_url=f"https://127.0.0.1:{server.port}/v1",
            api_key="k",
            max_retries=0,
            http_client=openai.DefaultAsyncHttpxClient(verify=trusted),
        ) as client:
            answer = await client.chat.completions.create(model="m", messages=MESSAGES)
        return answer.choices[0].message.content or ""

    with llmtape.tape(tmp_path, mode="record") as tape:
        assert asyncio.run(ask()).startswith("You said: over TLS")
    assert [c.outcome for c in tape.calls] == ["recorded"]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_a_redirect_is_recorded_with_its_location_and_followed_again_on_replay(
    server: Server, tmp_path: Path, network: NetworkGuard, stream: bool
) -> None:
    def ask() -> str:
        base_url = server.base_url.replace("/v1", "/moved/v1")  # answered with 307 -> /v1/...
        with openai.OpenAI(base_url=base_url, api_key="k", max_retries=0) as client:
            if not stream:
                answer = client.chat.completions.create(model="m", messages=MESSAGES)
                return answer.choices[0].message.content or ""
            with client.chat.completions.create(model="m", messages=MESSAGES, stream=True) as chunks:
                return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    assert round_trip(server, tmp_path, network, ask).startswith("You said: over TLS")
    statuses = sorted((p.name, p.read_text()) for p in tmp_path.glob("*.json"))
    redirect = [text for _, text in statuses if '"status": 307' in text]
    assert len(statuses) == 2
    assert len(redirect) == 1
    assert '"location": "/v1/chat/completions"' in redirect[0]
