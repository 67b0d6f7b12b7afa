"""Exceptions raised by llmtape.

Every error says what happened, which request or file it concerns, and how to fix it.

    LlmtapeError
    ├── ConfigError          a setting has a value llmtape cannot use
    ├── RecordingError       a recording file cannot be read or written
    ├── UnsupportedRequest   an intercepted request cannot be keyed
    ├── MissingRecording     replay found no recording for a request
    ├── SecretFound          a recording about to be written contains a credential
    └── LockTimeout          another process held a request's recording lock for too long

    NetworkEscape            (a BaseException) in replay mode, a call to a hosted LLM API was about to
                             leave through an HTTP stack llmtape does not intercept
"""

from __future__ import annotations

import os
from pathlib import Path


def shown(path: str | os.PathLike[str]) -> str:
    """A path as a person wants to read it: relative to the working directory when inside it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class LlmtapeError(Exception):
    """Base class of every llmtape error."""


class ConfigError(LlmtapeError):
    """A setting (mode, directory, endpoint pattern, marker argument) is invalid."""


class RecordingError(LlmtapeError):
    """A recording file is unreadable, malformed, or could not be written."""

    def __init__(self, message: str, *, path: str | os.PathLike[str]) -> None:
        self.path = shown(path)
        super().__init__(f"{message}\n  file: {self.path}")


class UnsupportedRequest(LlmtapeError):
    """An intercepted request has a body llmtape cannot turn into a key."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(f"{message}\n  request: {method} {url}")
        self.method = method
        self.url = url


class MissingRecording(LlmtapeError):
    """Replay mode met a request that has no recording; the message explains the miss."""

    def __init__(self, message: str, *, key: str, path: str | os.PathLike[str]) -> None:
        super().__init__(message)
        self.key = key
        self.path = shown(path)


class SecretFound(LlmtapeError):
    """A recording would contain something shaped like a credential; it was not written."""

    def __init__(self, found: list[str], *, path: str | os.PathLike[str]) -> None:
        path = shown(path)
        super().__init__(
            f"llmtape: refused to write a recording containing {', '.join(found)}\n"
            f"  file: {path} (not written)\n"
            "  fix: keep credentials out of request bodies and URLs, or export them as *_API_KEY, *_KEY,\n"
            "  *_TOKEN, *_SECRET or *_PASSWORD variables so llmtape redacts them; if the value is not\n"
            "  secret, allow it for this test with @pytest.mark.llmtape(allow_secrets=True)"
        )
        self.path = path


class SecretInFile(LlmtapeError):
    """A sidecar file (an uploaded file, a binary answer) holds a credential; nothing was written."""

    def __init__(self, found: list[str], *, path: str | os.PathLike[str], file: str) -> None:
        path = shown(path)
        super().__init__(
            f"llmtape: refused to write a recording whose file {file} contains {', '.join(found)}; "
            "a file's bytes are stored as they were sent, so nothing in them can be redacted\n"
            f"  file: {path} (not written)\n"
            "  fix: send a file without the credential, or keep this test off the tape with "
            "@pytest.mark.llmtape(enabled=False)"
        )
        self.path = path


class LockTimeout(LlmtapeError):
    """Another process kept recording the same request for longer than llmtape waits."""

    def __init__(self, *, seconds: float, path: str | os.PathLike[str], lock: str) -> None:
        path = shown(path)
        super().__init__(
            f"llmtape: another test run (or thread) has been recording this request for {seconds:g} s, so "
            "this call was not answered rather than recorded twice\n"
            f"  file: {path}\n"
            f"  lock: {lock}\n"
            "  fix: let the other test run finish (or stop it), then run this test again"
        )
        self.path = path
        self.lock = lock


class NetworkEscape(BaseException):
    """In replay mode, a connection to a hosted LLM API was about to leave through an HTTP stack llmtape
    does not intercept. A BaseException, like KeyboardInterrupt, so that an SDK's retry loop (which
    catches Exception) neither retries it nor hides it behind "Connection error.": the test fails at once."""
