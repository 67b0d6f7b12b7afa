"""Settings: the modes, where the mode comes from, and which endpoints are intercepted."""

from __future__ import annotations

import enum
import fnmatch
import re
from collections.abc import Iterable, Mapping

from llmtape.errors import ConfigError

ENV_MODE = "LLMTAPE_MODE"


class Mode(enum.StrEnum):
    """What happens to an intercepted request."""

    REPLAY = "replay"  # serve recordings; a missing one fails, the network is never used
    RECORD = "record"  # serve recordings; call the live API for missing ones and save them
    REWRITE = "rewrite"  # call the live API for every request and save it over any recording
    LIVE = "live"  # call the live API, save nothing

    @classmethod
    def parse(cls, value: str, *, source: str) -> Mode:
        """The mode named by ``value``; ``source`` says where it came from, for the error."""
        try:
            return cls(value.strip().lower())
        except ValueError:
            choices = ", ".join(mode.value for mode in cls)
            raise ConfigError(f"llmtape: {source} is {value!r}; use one of: {choices}") from None


def resolve_mode(*, option: str | None, record_flag: bool, env: Mapping[str, str], ini: str | None) -> Mode:
    """The mode in force. Precedence: command line, then ``LLMTAPE_MODE``, then ini, then replay."""
    if record_flag:
        if option is not None and Mode.parse(option, source="--llmtape-mode") != Mode.RECORD:
            raise ConfigError(
                f"llmtape: --record conflicts with --llmtape-mode={option}; pass only one of them"
            )
        return Mode.RECORD
    if option is not None:
        return Mode.parse(option, source="--llmtape-mode")
    if env.get(ENV_MODE):
        return Mode.parse(env[ENV_MODE], source=f"the environment variable {ENV_MODE}")
    if ini:
        return Mode.parse(ini, source="the ini option llmtape_mode")
    return Mode.REPLAY


DEFAULT_ENDPOINTS = (
    "POST */chat/completions",
    "POST */completions",
    "POST */embeddings",
    "POST */responses",
    "POST */messages",
    "POST */api/chat",
    "POST */api/generate",
    "POST */api/embed",
    "GET */models",
)


class Endpoints:
    """Which requests are LLM calls, from patterns ``"METHOD PATH-GLOB"`` like ``"POST */messages"``."""

    def __init__(self, patterns: Iterable[str] = DEFAULT_ENDPOINTS) -> None:
        self.patterns = tuple(patterns)
        self._by_method = _compile(self.patterns)

    def match(self, method: str, path: str) -> bool:
        """True when a request with this method and URL path is intercepted."""
        pattern = self._by_method.get(method.upper())
        return pattern is not None and pattern.fullmatch(path) is not None


def _compile(patterns: Iterable[str]) -> dict[str, re.Pattern[str]]:
    by_method: dict[str, list[str]] = {}
    for pattern in patterns:
        method, _, glob = pattern.strip().partition(" ")
        if not glob.strip() or not method.isalpha():
            raise ConfigError(
                f"llmtape: endpoint pattern {pattern!r} is not 'METHOD PATH-GLOB'; "
                "write it like 'POST */chat/completions'"
            )
        by_method.setdefault(method.upper(), []).append(fnmatch.translate(glob.strip()))
    return {method: re.compile("|".join(globs)) for method, globs in by_method.items()}
