"""Where the mode comes from, and which endpoints are intercepted."""

from __future__ import annotations

import pytest

from llmtape.config import Endpoints, Mode, is_llm_host, place, resolve_mode
from llmtape.errors import ConfigError


@pytest.mark.parametrize(
    ("option", "record_flag", "env", "ini", "expected"),
    [
        (None, False, {}, None, Mode.REPLAY),
        (None, False, {}, "live", Mode.LIVE),
        (None, False, {"LLMTAPE_MODE": "rewrite"}, "live", Mode.REWRITE),
        ("live", False, {"LLMTAPE_MODE": "rewrite"}, "record", Mode.LIVE),
        (None, True, {"LLMTAPE_MODE": "rewrite"}, "live", Mode.RECORD),
        ("record", True, {}, None, Mode.RECORD),
        (None, False, {"LLMTAPE_MODE": ""}, "record", Mode.RECORD),
        (" Record ", False, {}, None, Mode.RECORD),
    ],
)
def test_command_line_beats_environment_beats_ini(
    option: str | None, record_flag: bool, env: dict[str, str], ini: str | None, expected: Mode
) -> None:
    assert resolve_mode(option=option, record_flag=record_flag, env=env, ini=ini) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"option": "replay-all"},
            "--llmtape-mode is 'replay-all'; use one of: replay, record, rewrite, live",
        ),
        ({"env": {"LLMTAPE_MODE": "x"}}, "the environment variable LLMTAPE_MODE is 'x'"),
        ({"ini": "y"}, "the ini option llmtape_mode is 'y'"),
        ({"option": "live", "record_flag": True}, "--record conflicts with --llmtape-mode=live"),
    ],
)
def test_a_bad_mode_names_its_source_and_the_choices(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"option": None, "record_flag": False, "env": {}, "ini": None, **kwargs}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        resolve_mode(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "path", "host", "intercepted"),
    [
        # Self-hosted servers on any host: the APIs' precise paths.
        ("POST", "/v1/chat/completions", "127.0.0.1:8089", True),
        ("POST", "/openai/deployments/gpt/chat/completions", "llm.internal", True),
        ("POST", "/openai/v1/chat/completions", "127.0.0.1:8000", True),
        ("POST", "/v1/completions", "localhost:8000", True),
        ("POST", "/v1/embeddings", "localhost:8000", True),
        ("POST", "/v1/responses", "localhost:8000", True),
        ("POST", "/v1/messages", "localhost:8000", True),
        ("POST", "/api/chat", "localhost:11434", True),
        ("POST", "/api/generate", "localhost:11434", True),
        ("POST", "/api/embed", "localhost:11434", True),
        ("POST", "/v1beta/models/gemini-2.5-flash:generateContent", "127.0.0.1:9000", True),
        ("POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", "127.0.0.1:9000", True),
        ("POST", "/v1beta/models/text-embedding-004:batchEmbedContents", "127.0.0.1:9000", True),
        ("POST", "/v1beta1/projects/p/locations/l/publishers/google/models/g:countTokens", "gw", True),
        ("POST", "/v1/projects/p/locations/l/publishers/google/models/embed:predict", "gw", True),
        ("POST", "/v1/projects/p/locations/l/publishers/anthropic/models/c:streamRawPredict", "gw", True),
        ("POST", "/v2/chat", "127.0.0.1:9000", True),
        ("POST", "/v2/embed", "127.0.0.1:9000", True),
        ("POST", "/v2/rerank", "127.0.0.1:9000", True),
        ("POST", "/v1/rerank", "127.0.0.1:9000", True),
        ("GET", "/v1/models", "localhost:8000", True),
        # ... and nothing that merely ends like one: a chat service is not an LLM.
        ("POST", "/api/v10/channels/123/messages", "discord.com", False),
        ("POST", "/messages", "localhost:8000", False),
        ("POST", "/v1/chat/completions/extra", "localhost:8000", False),
        ("GET", "/v1/chat/completions", "localhost:8000", False),
        # OpenAI's stateful, multipart and binary APIs, and Bedrock's runtime, on any host.
        ("POST", "/v1/files", "localhost:8000", True),
        ("GET", "/v1/files/file-1/content", "localhost:8000", True),
        ("POST", "/v1/uploads/up_1/parts", "localhost:8000", True),
        ("GET", "/v1/vector_stores/vs_1/files/file-1", "localhost:8000", True),
        ("DELETE", "/v1/conversations/conv_1", "localhost:8000", True),
        ("GET", "/v1/responses/resp_1/input_items", "localhost:8000", True),
        ("POST", "/v1/responses/input_tokens", "localhost:8000", True),
        ("POST", "/v1/images/generations", "localhost:8000", True),
        ("POST", "/v1/audio/speech", "localhost:8000", True),
        ("GET", "/v1/threads/thread_1/runs/run_1", "localhost:8000", True),
        ("POST", "/v1/assistants", "localhost:8000", True),
        ("POST", "/model/anthropic.claude-3-haiku:0/converse", "localhost:4566", True),
        ("POST", "/model/m/converse-stream", "localhost:4566", True),
        ("POST", "/model/m/invoke", "localhost:4566", True),
        ("POST", "/model/m/invoke-with-response-stream", "localhost:4566", True),
        ("POST", "/v1/filesystem", "localhost:8000", False),
        ("GET", "/v1/images/cat.png", "localhost:8000", False),
        ("POST", "/model/m/train", "localhost:4566", False),
        ("GET", "/model/m/converse", "localhost:4566", False),
        ("GET", "/health", "localhost:8000", False),
        # The hosted APIs: every path, every method.
        ("POST", "/v1/files", "api.openai.com", True),
        ("GET", "/v1/vector_stores/vs_1", "api.openai.com", True),
        ("DELETE", "/v1/files/file_1", "api.openai.com", True),
        ("POST", "/openai/deployments/gpt/chat/completions", "acme.openai.azure.com", True),
        ("POST", "/v1/messages/batches", "api.anthropic.com", True),
        ("GET", "/v1beta/models", "generativelanguage.googleapis.com", True),
        ("POST", "/v1/projects/p/locations/us-central1/x", "us-central1-aiplatform.googleapis.com", True),
        ("POST", "/v1/chat", "api.cohere.com", True),
        ("POST", "/v1/chat/completions", "api.mistral.ai", True),
        ("POST", "/openai/v1/audio/transcriptions", "api.groq.com", True),
        ("POST", "/api/v1/anything", "openrouter.ai", True),
        ("POST", "/chat/completions", "api.deepseek.com", True),
        ("POST", "/v1/anything", "api.x.ai", True),
        ("POST", "/v1/anything", "api.together.xyz", True),
        ("POST", "/inference/v1/anything", "api.fireworks.ai", True),
        # A host glob never reaches into the path.
        ("POST", "/x.openai.azure.com/y", "evil.example", False),
        ("POST", "/anything", "api.openai.com.evil.example", False),
    ],
)
def test_default_endpoints(method: str, path: str, host: str, intercepted: bool) -> None:
    assert Endpoints().match(method, path, host) is intercepted


def test_endpoints_given_add_to_the_defaults() -> None:
    endpoints = Endpoints(["post /v2/generate", "PUT */things/*", "* //llm.internal:8000/*"])
    assert endpoints.match("POST", "/v2/generate")
    assert endpoints.match("put", "/a/things/1")
    assert endpoints.match("GET", "/anything", "llm.internal:8000")
    assert not endpoints.match("GET", "/anything", "llm.internal:8001")
    assert endpoints.match("POST", "/v1/chat/completions", "localhost")


def test_without_defaults_only_the_endpoints_given_are_intercepted() -> None:
    endpoints = Endpoints(["post /v2/generate"], defaults=False)
    assert endpoints.match("POST", "/v2/generate")
    assert not endpoints.match("POST", "/v1/chat/completions", "localhost")
    assert not endpoints.match("POST", "/v1/chat/completions", "api.openai.com")
    extended = endpoints.extended(["POST */v1/messages"])
    assert extended.match("POST", "/v1/messages")
    assert not extended.match("POST", "/v1/chat/completions")
    assert extended.extended([], defaults=True).match("POST", "/v1/chat/completions")


@pytest.mark.parametrize(
    ("host", "known"),
    [
        ("api.openai.com", True),
        ("API.OpenAI.com.", True),
        ("eastus-aiplatform.googleapis.com", True),
        ("bedrock-runtime.us-east-1.amazonaws.com", True),
        ("s3.amazonaws.com", False),
        ("127.0.0.1", False),
        ("localhost", False),
    ],
)
def test_hosted_llm_apis_are_known_by_host(host: str, known: bool) -> None:
    assert is_llm_host(host) is known


@pytest.mark.parametrize("pattern", ["/v1/chat/completions", "POST", "P0ST /x"])
def test_a_malformed_endpoint_pattern_says_how_to_write_it(pattern: str) -> None:
    with pytest.raises(ConfigError, match="write it like 'POST \\*/chat/completions' \\(a URL path\\)"):
        Endpoints([pattern])


@pytest.mark.parametrize(
    ("scheme", "host", "port", "expected"),
    [
        ("https", "api.openai.com", None, "api.openai.com"),
        ("https", "api.openai.com", 443, "api.openai.com"),
        ("https", "API.OpenAI.com.", 443, "api.openai.com"),
        ("http", "localhost", 80, "localhost"),
        ("http", "localhost", 8000, "localhost:8000"),
        ("https", "::1", 8443, "[::1]:8443"),
        ("http", "[::1]", None, "[::1]"),
    ],
)
def test_a_urls_host_is_seen_as_endpoint_patterns_write_it(
    scheme: str, host: str, port: int | None, expected: str
) -> None:
    assert place(scheme, host, port) == expected
    assert Endpoints().match("GET", "/v1/files", place("https", "api.openai.com.", 443))
