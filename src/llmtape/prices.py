"""Dollar prices of LLM tokens: the table shipped with llmtape, a project's own file laid over it, and the
rules that find a model's price under the many names providers give one model.

A price file is ``{"date", "source", "currency": "USD", "unit": "per 1M tokens", "models": {name: {"input",
"output"}}}``; the shipped one is ``llmtape/data/prices.json``. A model is looked up by its exact name, then
without a provider or region prefix (``models/``, ``openai/``, ``us.anthropic.``), then without a version or
date suffix (``:0``, ``-v2``, ``-2024-08-06``, ``-20241022``, ``@20240620``, ``-latest``, ``-001``), and last
as the longest table entry it begins with up to a ``-`` (``gpt-4o-mini-search-preview`` is ``gpt-4o-mini``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from llmtape.errors import ConfigError, shown

if TYPE_CHECKING:
    from llmtape.ledger import Tokens

CURRENCY, UNIT = "USD", "per 1M tokens"
SHAPE = (
    '{"date": "YYYY-MM-DD", "source": ["https://..."], "currency": "USD", "unit": "per 1M tokens", '
    '"models": {"my-model": {"input": 0.5, "output": 1.5}}}'
)
_PREFIXES = (
    re.compile(r"^.*/"),  # models/, openai/, groq/openai/, meta-llama/, a Bedrock ARN's foundation-model/
    re.compile(r"^(?:us|eu|apac|au|jp|ca|us-gov|global)\."),  # Bedrock cross-region inference profiles
    re.compile(r"^(?:anthropic|amazon|meta|cohere|mistral|ai21|deepseek|openai|qwen|writer)\."),
)
_SUFFIXES = tuple(
    re.compile(pattern)
    for pattern in (
        r":\d+$",
        r"-v\d+$",
        r"@\d+$",
        r"-\d{4}-\d{2}-\d{2}$",
        r"-\d{8}$",
        r"-latest$",
        r"-\d{3}$",
    )
)


@dataclass(frozen=True, slots=True)
class Price:
    """Dollars per 1M input tokens and per 1M output tokens."""

    input: float
    output: float

    def of(self, tokens: Tokens) -> float:
        """What ``tokens`` cost, in dollars."""
        return (tokens.input * self.input + tokens.output * self.output) / 1_000_000


class Prices:
    """A price table: model names to prices, with the date the figures were taken and where from."""

    def __init__(self, models: Mapping[str, Price], *, date: str, source: list[str]) -> None:
        self.models = {name.lower(): price for name, price in models.items()}
        self.date = date
        self.source = source
        self._found: dict[str, Price | None] = {}

    @classmethod
    def load(cls, project_file: Path | None = None) -> Prices:
        """The shipped table, with a project's own file laid over it: its models add to or replace the
        shipped ones, its date and sources come first."""
        shipped = _shipped()
        if project_file is None:
            return shipped
        own = _read(project_file.read_bytes() if project_file.is_file() else None, shown(project_file))
        date = f"{own.date} ({shown(project_file)}), {shipped.date} (shipped)" if own.date else shipped.date
        return cls({**shipped.models, **own.models}, date=date, source=[*own.source, *shipped.source])

    def price(self, model: str) -> Price | None:
        """The price of ``model`` under the matching rules of this module, or None when it has none."""
        if model not in self._found:
            self._found[model] = self._match(model)
        return self._found[model]

    def _match(self, model: str) -> Price | None:
        names = list(_names(model.strip().lower()))
        for name in names:
            if name in self.models:
                return self.models[name]
        starts = [entry for entry in self.models if any(name.startswith(f"{entry}-") for name in names)]
        return self.models[max(starts, key=len)] if starts else None


def _names(name: str) -> Iterator[str]:
    """The name, then the name with each prefix and then each suffix taken off in turn."""
    yield name
    for pattern in _PREFIXES:
        shorter = pattern.sub("", name)
        if shorter and shorter != name:
            name = shorter
            yield name
    while True:
        cut = next((short for p in _SUFFIXES if (short := p.sub("", name)) and short != name), None)
        if cut is None:
            return
        name = cut
        yield name


@functools.cache
def _shipped() -> Prices:
    resource = files("llmtape").joinpath("data", "prices.json")
    return _read(resource.read_bytes(), "llmtape/data/prices.json")


def _read(content: bytes | None, name: str) -> Prices:
    """A price file's table; anything off raises :class:`ConfigError` naming the file and the shape."""
    if content is None:
        raise _error(name, "does not exist")
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError as error:
        raise _error(name, f"is not valid JSON ({error})") from None
    problem = _problem(data)
    if problem:
        raise _error(name, problem)
    source = data.get("source", [])
    return Prices(
        {model: Price(float(p["input"]), float(p["output"])) for model, p in data["models"].items()},
        date=str(data.get("date", "")),
        source=[source] if isinstance(source, str) else list(source),
    )


def _problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "is not a JSON object"
    if not isinstance(data.get("models"), dict):
        return "has no 'models' object"
    for field, expected in (("currency", CURRENCY), ("unit", UNIT)):
        if data.get(field, expected) != expected:
            return f"has {field} {data[field]!r}; llmtape reads prices in {CURRENCY} {UNIT}"
    if not isinstance(data.get("date", ""), str):
        return "has a date that is not text"
    source = data.get("source", [])
    if not (
        isinstance(source, str) or (isinstance(source, list) and all(isinstance(s, str) for s in source))
    ):
        return "has a source that is not a list of URLs"
    for model, price in data["models"].items():
        if not (isinstance(price, dict) and all(_is_amount(price.get(side)) for side in ("input", "output"))):
            return (
                f"has models.{model} that is not {{'input': dollars, 'output': dollars}} (numbers, 0 or more)"
            )
    return None


def _is_amount(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _error(name: str, problem: str) -> ConfigError:
    return ConfigError(f"llmtape: the price file {problem}\n  file: {name}\n  expected: {SHAPE}")
