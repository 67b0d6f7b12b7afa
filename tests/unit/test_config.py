"""Where the mode comes from, and which endpoints are intercepted."""

from __future__ import annotations

import pytest

from llmtape.config import Endpoints, Mode, resolve_mode
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
    ("method", "path", "intercepted"),
    [
        ("POST", "/v1/chat/completions", True),
        ("POST", "/openai/deployments/gpt/chat/completions", True),
        ("POST", "/v1/completions", True),
        ("POST", "/v1/embeddings", True),
        ("POST", "/v1/responses", True),
        ("POST", "/v1/messages", True),
        ("POST", "/api/chat", True),
        ("POST", "/api/generate", True),
        ("POST", "/api/embed", True),
        ("GET", "/v1/models", True),
        ("GET", "/v1/chat/completions", False),
        ("POST", "/v1/files", False),
        ("POST", "/v1/chat/completions/extra", False),
        ("GET", "/health", False),
    ],
)
def test_default_endpoints(method: str, path: str, intercepted: bool) -> None:
    assert Endpoints().match(method, path) is intercepted


def test_custom_endpoints_replace_the_defaults() -> None:
    endpoints = Endpoints(["post /v2/generate", "PUT */things/*"])
    assert endpoints.match("POST", "/v2/generate")
    assert endpoints.match("put", "/a/things/1")
    assert not endpoints.match("POST", "/v1/chat/completions")


@pytest.mark.parametrize("pattern", ["/v1/chat/completions", "POST", "P0ST /x"])
def test_a_malformed_endpoint_pattern_says_how_to_write_it(pattern: str) -> None:
    with pytest.raises(ConfigError, match="write it like 'POST \\*/chat/completions'"):
        Endpoints([pattern])
