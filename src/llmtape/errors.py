"""Exceptions raised by llmtape.

Every error says what happened, which request or file it concerns, and how to fix it.

    LlmtapeError
    ├── ConfigError          a setting has a value llmtape cannot use
    ├── RecordingError       a recording file cannot be read or written
    ├── UnsupportedRequest   an intercepted request cannot be keyed
    └── MissingRecording     replay found no recording for a request
"""

from __future__ import annotations


class LlmtapeError(Exception):
    """Base class of every llmtape error."""


class ConfigError(LlmtapeError):
    """A setting (mode, directory, endpoint pattern, marker argument) is invalid."""


class RecordingError(LlmtapeError):
    """A recording file is unreadable, malformed, or could not be written."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(f"{message}\n  file: {path}")
        self.path = path


class UnsupportedRequest(LlmtapeError):
    """An intercepted request has a body llmtape cannot turn into a key."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(f"{message}\n  request: {method} {url}")
        self.method = method
        self.url = url


class MissingRecording(LlmtapeError):
    """Replay mode met a request that has no recording; the message explains the miss."""

    def __init__(self, message: str, *, key: str, path: str) -> None:
        super().__init__(message)
        self.key = key
        self.path = path
