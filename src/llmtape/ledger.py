"""The tokens of recorded calls: how many each one used, read from the provider's own usage fields, added
up per model for a test or a run, and what they cost at a price table's figures.

:func:`tokens_of` reads every API llmtape records: OpenAI (chat, legacy completions, embeddings,
Responses) and the APIs shaped like it (Mistral, Groq, vLLM, Ollama's ``/v1``), Anthropic Messages,
Gemini and Vertex AI, Cohere v1 and v2, AWS Bedrock (Converse, ConverseStream, InvokeModel,
InvokeModelWithResponseStream) and Ollama's native API, streamed or not. It runs on every replayed call,
so it reads a stream from its end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from llmtape.format import gemini
from llmtape.format.assemble import model as requested_model
from llmtape.format.recording import Recording
from llmtape.prices import Prices

UNKNOWN = "unknown model"
# Every API puts a stream's usage in its last events (Anthropic's message_delta is the one before last,
# Bedrock's metadata the last), so a stream's first item and its last few are read, whatever its length.
TAIL = 4
HEADERS = ("x-amzn-bedrock-input-token-count", "x-amzn-bedrock-output-token-count")  # Bedrock InvokeModel
ANTHROPIC_INPUT = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
BEDROCK_INPUT = ("inputTokens", "cacheReadInputTokens", "cacheWriteInputTokens")
GEMINI_INPUT = ("promptTokenCount", "toolUsePromptTokenCount")
GEMINI_OUTPUT = ("candidatesTokenCount", "thoughtsTokenCount")
# The fields of a payload that usage is read from, or from within.
_COUNTING = frozenset(
    {
        "usage",
        "usageMetadata",
        "usage_metadata",
        "prompt_eval_count",
        "eval_count",
        "amazon-bedrock-invocationMetrics",
        "response",
        "message",
        "delta",
        "x_groq",
        "meta",
    }
)
SPENT = {"replayed": " not spent", "recorded": " spent"}


@dataclass(frozen=True, slots=True)
class Tokens:
    """Input (prompt) and output (completion) tokens."""

    input: int = 0
    output: int = 0

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(self.input + other.input, self.output + other.output)

    def __bool__(self) -> bool:
        return bool(self.input or self.output)

    @property
    def total(self) -> int:
        return self.input + self.output


Found = tuple[str | None, Tokens]


def tokens_of(recording: Recording) -> Found | None:
    """The model and the tokens of one recorded call, or None when its answer counts none (an error, a
    file, a model list, a stored response fetched again); odd data never raises, it only counts nothing.
    The model is the one the answer names, else the one asked for, else Bedrock's in the URL."""
    try:
        found = _answer(recording)
        if not found or not found[1]:
            return None
        model, tokens = found[0] or requested_model(recording), found[1]
        # Copies: an object of the parsed recording kept with the call would pin the memory it came in.
        named = None if model is None else model.encode().decode()
        return named, Tokens(tokens.input + 0, tokens.output + 0)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return None


def _answer(recording: Recording) -> Found | None:
    request, response = recording["request"], recording["response"]
    if request.get("method") != "POST" or not 200 <= response.get("status", 0) < 300:
        return None  # only a POST is a billed call: a GET of a stored response counts nothing again
    body = response.get("body")
    datas = [_data(chunk) for chunk in _ends(body if response.get("is_streaming") else [body])]
    if len(datas) == 1 and isinstance(datas[0], list):  # a whole JSON array (Gemini without alt=sse)
        datas = [_data({"__data__": item}) for item in _ends(datas[0])]
    headers: dict[str, Any] = response.get("headers") or {}
    counted = [str(headers.get(name, "")) for name in HEADERS]
    if all(map(_digits, counted)):  # InvokeModel's own counts, whatever the model's format
        return next((_model(d) for d in datas if _model(d)), None), Tokens(*map(int, counted))
    return _from_end(datas)


def _ends(items: Any) -> list[Any]:
    """A stream's first item (where Anthropic counts the input) and its last few (where usage is)."""
    if not isinstance(items, list):
        return []
    return items if len(items) <= TAIL + 1 else [items[0], *items[-TAIL:]]


def _data(chunk: Any) -> Any:
    """A chunk's payload; an InvokeModelWithResponseStream chunk's is the model's own event inside it."""
    data = chunk.get("__data__") if isinstance(chunk, dict) else None
    return data["bytes"] if isinstance(data, dict) and isinstance(data.get("bytes"), dict) else data


def _from_end(datas: list[Any]) -> Found | None:
    for data in reversed(datas):
        if not _may_count(data):
            continue
        tokens = _payload(data)
        if not tokens:
            continue
        if data.get("type") != "message_delta":
            return _model(data), tokens
        # Anthropic's stream names its model, and counts its input, in the message_start that opens it.
        start = datas[0] if isinstance(datas[0], dict) and datas[0].get("type") == "message_start" else {}
        if not _has_input(data.get("usage") or {}):
            tokens = Tokens((_payload(start) or Tokens()).input, tokens.output)
        return _model(start), tokens
    return None


def _may_count(data: Any) -> bool:
    """Whether a payload holds any field usage is read from: most chunks of a stream hold none (or, as
    OpenAI's, a null ``usage``), and are passed over at the cost of one set operation."""
    if not isinstance(data, dict):
        return False
    return any(data[key] is not None for key in data.keys() & _COUNTING)


def _payload(data: Any) -> Tokens | None:
    """The tokens one payload counts, wherever its API puts them."""
    if not isinstance(data, dict):
        return None
    metrics = data.get("amazon-bedrock-invocationMetrics")
    if isinstance(metrics, dict):
        return Tokens(_count(metrics.get("inputTokenCount")), _count(metrics.get("outputTokenCount")))
    if _is_count(data.get("prompt_eval_count")) or _is_count(data.get("eval_count")):  # Ollama's native API
        return Tokens(_count(data.get("prompt_eval_count")), _count(data.get("eval_count")))
    metadata = data.get("usageMetadata", data.get("usage_metadata"))  # Gemini, camelCase or snake_case
    if isinstance(metadata, dict):
        return _gemini(metadata)
    for holder in (data, data.get("response"), data.get("message"), data.get("delta"), data.get("x_groq")):
        if isinstance(holder, dict):
            found = _fields(holder.get("usage")) or _fields(holder.get("meta"))  # meta: Cohere v1 and embed
            if found:
                return found
    return None


def _fields(usage: Any) -> Tokens | None:
    """A usage object of any of the shapes the APIs send."""
    if not isinstance(usage, dict):
        return None
    if "tokens" in usage or "billed_units" in usage:  # Cohere: the units billed (what is paid), else tokens
        return _fields(usage.get("billed_units")) or _fields(usage.get("tokens"))
    if "prompt_tokens" in usage:  # OpenAI and every API shaped like it
        return Tokens(_count(usage["prompt_tokens"]), _count(usage.get("completion_tokens")))
    if "input_tokens" in usage or "output_tokens" in usage:  # Anthropic, OpenAI Responses, Cohere
        return Tokens(sum(map(_count, map(usage.get, ANTHROPIC_INPUT))), _count(usage.get("output_tokens")))
    if "inputTokens" in usage or "outputTokens" in usage:  # Bedrock Converse
        return Tokens(sum(map(_count, map(usage.get, BEDROCK_INPUT))), _count(usage.get("outputTokens")))
    return None


def _gemini(metadata: dict[str, Any]) -> Tokens:
    def total(names: tuple[str, ...]) -> int:
        return sum(_count(gemini.field(metadata, name)) for name in names)

    return Tokens(total(GEMINI_INPUT), total(GEMINI_OUTPUT))


def _has_input(usage: dict[str, Any]) -> bool:
    return any(usage.get(name) is not None for name in ANTHROPIC_INPUT)


def _model(data: Any) -> str | None:
    """The model an answer names: its own ``model``, a Responses or Anthropic event's, Gemini's version."""
    if not isinstance(data, dict):
        return None
    for holder in (data, data.get("response"), data.get("message")):
        if isinstance(holder, dict) and isinstance(holder.get("model"), str) and holder["model"]:
            return str(holder["model"])
    version = data.get("modelVersion")
    return version if isinstance(version, str) and version else None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _count(value: Any) -> int:
    return value if _is_count(value) else 0


def _digits(value: Any) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit()


@dataclass(frozen=True, slots=True)
class Cost:
    """What a ledger's tokens cost: the dollars of the priced models, and the models without a price."""

    dollars: float
    unpriced: list[str]
    by_model: dict[str, float]  # the dollars of each priced model


class Ledger:
    """Tokens per model, added up over the calls of one test or one run."""

    def __init__(self) -> None:
        self._tokens: dict[str | None, Tokens] = {}

    def __bool__(self) -> bool:
        return bool(self._tokens)

    def add(self, model: str | None, tokens: Tokens) -> None:
        """Count ``tokens`` for ``model`` (None: a model no one named); a call of no tokens counts nothing."""
        if tokens:
            self._tokens[model] = self._tokens.get(model, Tokens()) + tokens

    def merge(self, other: Ledger) -> None:
        """Add every count of ``other`` (another test's, or a pytest-xdist worker's) to this one."""
        for model, tokens in other._tokens.items():
            self.add(model, tokens)

    def total(self) -> Tokens:
        return sum(self._tokens.values(), Tokens())

    def by_model(self) -> dict[str, Tokens]:
        """The tokens of each model, by name; a call whose model is unknown is under :data:`UNKNOWN`."""
        named: dict[str, Tokens] = {}
        for model, tokens in sorted(self._tokens.items(), key=lambda item: item[0] or UNKNOWN):
            named[model or UNKNOWN] = named.get(model or UNKNOWN, Tokens()) + tokens
        return named

    def to_json(self) -> dict[str, Any]:
        """The counts as plain JSON data, for a pytest-xdist worker to send to the controller."""
        return {
            "models": [{"model": m, "input": t.input, "output": t.output} for m, t in self._tokens.items()]
        }

    @classmethod
    def from_json(cls, data: Any) -> Ledger:
        """The ledger :meth:`to_json` wrote; ValueError when ``data`` is not one."""
        ledger = cls()
        entries = data.get("models") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise ValueError(f"not a ledger's JSON: {data!r:.80}")
        for entry in entries:
            if not _is_entry(entry):
                raise ValueError(f"not a ledger's entry: {entry!r:.80}")
            ledger.add(entry.get("model"), Tokens(entry["input"], entry["output"]))
        return ledger

    def cost(self, prices: Prices) -> Cost:
        """The dollars of the models ``prices`` knows; the others are listed as unpriced."""
        dollars: dict[str, float] = {}
        unpriced: list[str] = []
        for name, tokens in self.by_model().items():
            price = None if name == UNKNOWN else prices.price(name)
            if price is None:
                unpriced.append(name)
            else:
                dollars[name] = price.of(tokens)
        return Cost(sum(dollars.values()), unpriced, dollars)


def _is_entry(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("model"), str | None)
        and _is_count(entry.get("input"))
        and _is_count(entry.get("output"))
    )


def counted(tokens: Tokens) -> str:
    """``1,234 tokens (1,000 in, 234 out)``."""
    return f"{tokens.total:,} tokens ({tokens.input:,} in, {tokens.output:,} out)"


def dollars(amount: float) -> str:
    """Dollars to the cent from one cent up, else to two significant digits: ``$1.27``, ``$0.00042``."""
    if amount >= 0.01 or amount <= 0:
        return f"${max(amount, 0):,.2f}"
    places = 1 - math.floor(math.log10(amount))
    return f"${amount:.{places}f}".rstrip("0")


def summary_line(verb: str, ledger: Ledger, prices: Prices) -> str | None:
    """The run's one line: ``llmtape: replayed 1,234 tokens (1,000 in, 234 out) ≈ $0.01 not spent``, the
    unpriced models after it; None when no call counted a token."""
    if not ledger:
        return None
    cost = ledger.cost(prices)
    line = f"llmtape: {verb} {counted(ledger.total())}"
    if cost.by_model:
        line += f" ≈ {dollars(cost.dollars)}{SPENT.get(verb, '')}"
    return line + (f"; unpriced: {', '.join(cost.unpriced)}" if cost.unpriced else "")


def model_lines(ledger: Ledger, prices: Prices) -> list[str]:
    """One line per model, the most tokens first: ``  gpt-4o-mini: 12,000 tokens (...) ≈ $0.0023``."""
    cost = ledger.cost(prices)
    ranked = sorted(ledger.by_model().items(), key=lambda item: -item[1].total)
    return [
        f"  {name}: {counted(tokens)} "
        + (f"≈ {dollars(cost.by_model[name])}" if name in cost.by_model else "(unpriced)")
        for name, tokens in ranked
    ]
