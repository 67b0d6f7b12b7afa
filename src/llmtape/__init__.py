"""llmtape: record and replay the HTTP calls of LLM SDKs, for pytest and scripts."""

from llmtape.config import DEFAULT_ENDPOINTS, Endpoints, Mode
from llmtape.errors import (
    ConfigError,
    LlmtapeError,
    MissingRecording,
    RecordingError,
    UnsupportedRequest,
)
from llmtape.keys import request_key
from llmtape.tape import Call, Outcome, Tape, tape

__all__ = [
    "DEFAULT_ENDPOINTS",
    "Call",
    "ConfigError",
    "Endpoints",
    "LlmtapeError",
    "MissingRecording",
    "Mode",
    "Outcome",
    "RecordingError",
    "Tape",
    "UnsupportedRequest",
    "request_key",
    "tape",
]
