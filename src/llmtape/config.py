"""Settings: the modes, where the mode comes from, and which endpoints are intercepted."""

from __future__ import annotations

import enum
import fnmatch
import re
from collections.abc import Iterable, Mapping

from llmtape.errors import ConfigError

ENV_MODE = "LLMTAPE_MODE"
ENV_SPEED = "LLMTAPE_SPEED"


class Mode(enum.StrEnum):
    """What happens to an intercepted request."""

    REPLAY = "replay"  # serve recordings; a missing one fails, the network is never used
    RECORD = "record"  # serve recordings; call the live API for missing ones and save them
    REWRITE = "rewrite"  # call the live API for every request and save it over any recording
    LIVE = "live"  # call the live API, save nothing
    DRIFT = "drift"  # serve recordings and compare each with the live API's answer; record missing ones

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


def parse_speed(value: object, *, source: str) -> float:
    """The replay speed ``value`` names: a number, 0 (instant) or more; ``source`` says where it came from."""
    try:
        speed = float(str(value).strip())
    except ValueError:
        speed = -1.0
    if not speed >= 0 or speed == float("inf") or isinstance(value, bool):
        raise ConfigError(
            f"llmtape: {source} is {value!r}; use a number: 1 replays at the recorded pace, 4 four times "
            "faster, 0 instantly (the default)"
        )
    return speed


def resolve_speed(*, option: str | None, env: Mapping[str, str], ini: str | None) -> float:
    """The replay speed in force. Precedence: command line, then ``LLMTAPE_SPEED``, then ini, then 0."""
    if option is not None:
        return parse_speed(option, source="--llmtape-speed")
    if env.get(ENV_SPEED):
        return parse_speed(env[ENV_SPEED], source=f"the environment variable {ENV_SPEED}")
    if ini:
        return parse_speed(ini, source="the ini option llmtape_speed")
    return 0.0


# The hosts of hosted LLM APIs: every request to them is an LLM call, whatever its path.
LLM_HOSTS = (
    "api.openai.com",
    "*.openai.azure.com",
    "*.cognitiveservices.azure.com",
    "*.services.ai.azure.com",
    "models.inference.ai.azure.com",
    "models.github.ai",
    "api.anthropic.com",
    "generativelanguage.googleapis.com",
    "aiplatform.googleapis.com",
    "*-aiplatform.googleapis.com",
    "api.cohere.com",
    "api.cohere.ai",
    "api.mistral.ai",
    "codestral.mistral.ai",
    "api.groq.com",
    "openrouter.ai",
    "api.together.xyz",
    "api.together.ai",
    "api.fireworks.ai",
    "api.deepseek.com",
    "api.x.ai",
    "api.perplexity.ai",
    "api.cerebras.ai",
    "integrate.api.nvidia.com",
    "api.deepinfra.com",
    "api.sambanova.ai",
    "api.hyperbolic.xyz",
    "api.novita.ai",
    "router.huggingface.co",
    "api-inference.huggingface.co",
    "api.voyageai.com",
    "api.jina.ai",
    "api.ai21.com",
    "api.moonshot.ai",
    "dashscope.aliyuncs.com",
    "dashscope-intl.aliyuncs.com",
    "bedrock-runtime.*.amazonaws.com",
    "ollama.com",
)

# The paths of LLM APIs on any host (self-hosted servers, gateways, local models): precise enough that a
# chat service's ``/api/v10/channels/1/messages`` is not one of them.
LLM_PATHS = (
    "POST */chat/completions",
    "POST */v1/completions",
    "POST */fim/completions",
    "POST */deployments/*/completions",
    "POST */v1/embeddings",
    "POST */deployments/*/embeddings",
    "POST */v1/responses",
    "POST */v1/messages",
    "POST */v1/messages/count_tokens",
    "POST *:generateContent",
    "POST *:streamGenerateContent",
    "POST *:countTokens",
    "POST *:embedContent",
    "POST *:batchEmbedContents",
    "POST *:predict",  # Vertex AI: embedding models that are not Gemini
    "POST *:rawPredict",  # Vertex AI: partner models (Claude, Llama, Mistral)
    "POST *:streamRawPredict",
    "POST */v2/chat",
    "POST */v2/embed",
    "POST */v2/rerank",
    "POST */v1/rerank",
    "POST */api/chat",
    "POST */api/generate",
    "POST */api/embed",
    "POST */api/embeddings",
    "GET */v1/models",
    "GET */v1beta/models",
    # OpenAI's stateful and file-carrying APIs (also served by gateways and compatible servers).
    "* */v1/responses/*",
    "* */v1/conversations",
    "* */v1/conversations/*",
    "* */v1/files",
    "* */v1/files/*",
    "* */v1/uploads",
    "* */v1/uploads/*",
    "* */v1/vector_stores",
    "* */v1/vector_stores/*",
    "POST */v1/images/*",
    "POST */v1/audio/*",
    "* */v1/assistants",
    "* */v1/assistants/*",
    "* */v1/threads",
    "* */v1/threads/*",
    # AWS Bedrock runtime (boto3 / aiobotocore at an endpoint_url of their own).
    "POST */model/*/converse",
    "POST */model/*/converse-stream",
    "POST */model/*/invoke",
    "POST */model/*/invoke-with-response-stream",
)

DEFAULT_ENDPOINTS = (*(f"* //{host}/*" for host in LLM_HOSTS), *LLM_PATHS)

# What drift mode sends to the live API again to compare: the calls a model answers, that is the POST
# endpoints of LLM_PATHS but images and audio (and Cohere's v1 API). A call that creates, changes or deletes
# state (files, vector stores, conversations, assistants, a stored response) is never sent twice.
COMPARED = (
    *(
        p
        for p in LLM_PATHS
        if p.startswith("POST ") and not p.startswith(("POST */v1/images/", "POST */v1/audio/"))
    ),
    "POST */v1/chat",
    "POST */v1/embed",
    "POST */v1/generate",
)

# What SDKs send to an LLM API's host about themselves, not LLM calls: never recorded; answered locally in
# replay mode (an empty 204), sent live otherwise. openai-agents exports its traces here by default.
TELEMETRY = ("POST //api.openai.com/v1/traces/ingest",)


class Endpoints:
    """Which requests are LLM calls, from patterns ``"METHOD GLOB"``: the glob matches the URL path
    (``"POST */v1/messages"``), or, when it starts with ``//``, the host and path (``"* //api.openai.com/*"``,
    with ``:port`` after the host when the URL names one); the method ``*`` is any method. The patterns
    given are added to :data:`DEFAULT_ENDPOINTS` unless ``defaults`` is false."""

    def __init__(self, patterns: Iterable[str] = (), *, defaults: bool = True) -> None:
        self.added, self.defaults = tuple(patterns), defaults
        self.patterns = (*(DEFAULT_ENDPOINTS if defaults else ()), *self.added)
        self._paths, self._places = _compile(self.patterns)

    def extended(self, patterns: Iterable[str], *, defaults: bool | None = None) -> Endpoints:
        """These endpoints and ``patterns``, with or without the defaults (as before when None)."""
        return Endpoints((*self.added, *patterns), defaults=self.defaults if defaults is None else defaults)

    def match(self, method: str, path: str, host: str = "") -> bool:
        """True when a request with this method, URL path and host (``name[:port]``) is intercepted."""
        method = method.upper()
        for by_method, target in ((self._paths, path), (self._places, f"//{host.lower()}{path}")):
            for key in (method, "*"):
                pattern = by_method.get(key)
                if pattern is not None and pattern.fullmatch(target) is not None:
                    return True
        return False


_DEFAULT_PORTS = {"http": 80, "https": 443}


def place(scheme: str, host: str, port: int | None) -> str:
    """A URL's host as endpoint patterns see it: lower case, without a trailing dot, an IPv6 address in
    brackets, and ``:port`` only when the port is not the scheme's default."""
    name = host.lower().rstrip(".")
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"
    return name if port is None or port == _DEFAULT_PORTS.get(scheme.lower()) else f"{name}:{port}"


def is_telemetry(method: str, path: str, host: str) -> bool:
    """True for a request in ``TELEMETRY``."""
    return _TELEMETRY.match(method, path, host)


def is_compared(method: str, path: str) -> bool:
    """True for a call that drift mode compares with the live API (``COMPARED``)."""
    return _COMPARED.match(method, path)


def is_llm_host(host: str) -> bool:
    """True for a host of a hosted LLM API (``LLM_HOSTS``)."""
    return _LLM_HOST.fullmatch(host.lower().rstrip(".")) is not None


def _compile(patterns: Iterable[str]) -> tuple[dict[str, re.Pattern[str]], dict[str, re.Pattern[str]]]:
    paths: dict[str, list[str]] = {}
    places: dict[str, list[str]] = {}
    for pattern in patterns:
        method, _, glob = pattern.strip().partition(" ")
        glob = glob.strip()
        if not glob or not (method.isalpha() or method == "*"):
            raise ConfigError(
                f"llmtape: endpoint pattern {pattern!r} is not 'METHOD GLOB'; write it like "
                "'POST */chat/completions' (a URL path) or '* //llm.internal:8000/*' (a host and path)"
            )
        if glob.startswith("//"):
            host, _, path = glob[2:].partition("/")
            regex = "//" + _host_regex(host) + fnmatch.translate("/" + path)
            places.setdefault(method.upper(), []).append(regex)
        else:
            paths.setdefault(method.upper(), []).append(fnmatch.translate(glob))
    return _joined(paths), _joined(places)


def _host_regex(glob: str) -> str:
    """A host glob as a regex in which ``*`` never crosses into the path."""
    return "[^/]*".join(re.escape(part) for part in glob.lower().split("*"))


def _joined(by_method: dict[str, list[str]]) -> dict[str, re.Pattern[str]]:
    return {method: re.compile("|".join(globs)) for method, globs in by_method.items()}


_LLM_HOST = re.compile("|".join(_host_regex(host) for host in LLM_HOSTS))
_TELEMETRY = Endpoints(TELEMETRY, defaults=False)
_COMPARED = Endpoints(COMPARED, defaults=False)
