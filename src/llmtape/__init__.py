"""llmtape: record and replay the HTTP calls of LLM SDKs, for pytest and scripts."""

from llmtape.config import DEFAULT_ENDPOINTS, Endpoints, Mode
from llmtape.errors import (
    ConfigError,
    LlmtapeError,
    LockTimeout,
    MissingRecording,
    NetworkEscape,
    RecordingError,
    SecretFound,
    UnsupportedRequest,
)
from llmtape.ledger import Cost, Tokens
from llmtape.tape import Call, Outcome, TapeView, tape

__all__ = [
    "DEFAULT_ENDPOINTS",
    "Call",
    "ConfigError",
    "Cost",
    "Endpoints",
    "LlmtapeError",
    "LockTimeout",
    "MissingRecording",
    "Mode",
    "NetworkEscape",
    "Outcome",
    "RecordingError",
    "SecretFound",
    "TapeView",
    "Tokens",
    "UnsupportedRequest",
    "tape",
]
