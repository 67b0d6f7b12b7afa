"""The price table: the shipped figures, the rules that find a model's price under its many names, a
project's own file laid over the shipped one, and what a malformed project file says."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from llmtape.errors import ConfigError
from llmtape.ledger import Tokens
from llmtape.prices import Price, Prices

SHIPPED = Prices.load()


def test_the_shipped_table_says_when_and_where_its_figures_come_from() -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", SHIPPED.date)
    assert SHIPPED.source
    assert all(url.startswith("https://") for url in SHIPPED.source)
    assert "https://openai.com/api/pricing" in SHIPPED.source
    assert 40 <= len(SHIPPED.models) <= 120  # a curated table, not a copy of a whole catalogue


@pytest.mark.parametrize(
    ("model", "price"),
    [
        ("gpt-4o", Price(2.5, 10.0)),
        ("gpt-4o-mini", Price(0.15, 0.6)),
        ("text-embedding-3-small", Price(0.02, 0.0)),
        ("claude-3-5-sonnet", Price(3.0, 15.0)),
        ("claude-haiku-4-5", Price(1.0, 5.0)),
        ("gemini-2.5-flash", Price(0.3, 2.5)),
        ("command-r-plus", Price(2.5, 10.0)),
        ("mistral-large", Price(0.5, 1.5)),
        ("llama-3.3-70b-versatile", Price(0.59, 0.79)),
        ("amazon.nova-pro-v1:0", Price(0.8, 3.2)),
        ("meta.llama3-1-70b-instruct-v1:0", Price(0.72, 0.72)),
    ],
)
def test_each_provider_family_is_priced(model: str, price: Price) -> None:
    assert SHIPPED.price(model) == price


@pytest.mark.parametrize(
    ("model", "entry"),
    [
        # An exact entry wins over every rule: this dated gpt-4o cost twice what the later ones do.
        ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
        # Provider and region prefixes.
        ("models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("openai/gpt-4o-mini", "gpt-4o-mini"),
        ("meta-llama/llama-4-scout-17b-16e-instruct", "llama-4-scout-17b-16e-instruct"),
        ("anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku"),
        ("us.anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet"),
        ("eu.amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0"),
        ("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0"),
        # Date and version suffixes.
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("gemini-2.0-flash-001", "gemini-2.0-flash"),
        # The longest entry the name begins with, up to a '-'.
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4o-mini-search-preview", "gpt-4o-mini"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("command-r7b-12-2024", "command-r7b"),
        ("gemini-2.5-flash-lite-preview-06-17", "gemini-2.5-flash-lite"),
        ("openai.gpt-oss-20b-1:0", "gpt-oss-20b"),
        ("GPT-4o", "gpt-4o"),
    ],
)
def test_a_model_is_found_under_the_names_providers_give_it(model: str, entry: str) -> None:
    assert SHIPPED.price(model) == SHIPPED.models[entry]


@pytest.mark.parametrize(
    "model",
    [
        "smollm2-135m-instruct",  # a local model
        "llama3.2:3b-instruct-fp16",  # Ollama's name:tag
        "gpt-oss:20b",
        "gpt-4.5-preview",  # begins with gpt-4, but not up to a '-'
        "ft:gpt-4o-mini-2024-07-18:my-org::abc123",  # a fine-tuned model costs more than its base
        "",
    ],
)
def test_a_model_without_an_entry_has_no_price(model: str) -> None:
    assert SHIPPED.price(model) is None


def test_a_price_is_dollars_per_million_tokens() -> None:
    assert Price(2.5, 10.0).of(Tokens(input=1_000_000, output=500_000)) == pytest.approx(7.5)
    assert Price(0.15, 0.6).of(Tokens(input=8, output=9)) == pytest.approx(6.6e-6)
    assert Price(2.5, 10.0).of(Tokens()) == 0


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_a_project_file_adds_and_replaces_models_and_shows_its_date_and_source(tmp_path: Path) -> None:
    own = {
        "date": "2026-12-01",
        "source": ["https://prices.example.test/contract"],
        "currency": "USD",
        "unit": "per 1M tokens",
        "models": {
            "gpt-4o": {"input": 1.25, "output": 5},
            "smollm2-135m-instruct": {"input": 0.01, "output": 0.02},
            "gpt-4o-mini-search-preview": {"input": 30, "output": 30},
        },
    }
    prices = Prices.load(write(tmp_path / "prices.json", own))
    assert prices.price("gpt-4o-2024-08-06") == Price(1.25, 5.0)  # replaced, and found by the same rules
    assert prices.price("smollm2-135m-instruct") == Price(0.01, 0.02)  # added
    assert prices.price("gpt-4o-mini-search-preview") == Price(30.0, 30.0)  # its exact entry beats a prefix
    assert prices.price("claude-3-5-sonnet-latest") == SHIPPED.models["claude-3-5-sonnet"]  # still shipped
    assert prices.source[0] == "https://prices.example.test/contract"
    assert prices.source[1:] == SHIPPED.source
    assert "2026-12-01" in prices.date
    assert SHIPPED.date in prices.date
    assert SHIPPED.price("gpt-4o") == Price(2.5, 10.0)  # the shipped table itself is untouched


def test_a_project_file_needs_only_its_models(tmp_path: Path) -> None:
    prices = Prices.load(write(tmp_path / "p.json", {"models": {"house-model": {"input": 1, "output": 2}}}))
    assert prices.price("house-model-2026-01-01") == Price(1.0, 2.0)
    assert prices.date == SHIPPED.date


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not valid JSON"),
        ([], "is not a JSON object"),
        ({"date": "2026-12-01"}, "has no 'models' object"),
        ({"models": {"m": {"input": 1}}}, "has models.m that is not {'input': dollars, 'output': dollars}"),
        ({"models": {"m": {"input": -1, "output": 1}}}, "has models.m that is not"),
        ({"models": {"m": {"input": True, "output": 1}}}, "has models.m that is not"),
        ({"models": {"m": [1, 2]}}, "has models.m that is not"),
        ({"currency": "EUR", "models": {}}, "has currency 'EUR'; llmtape reads prices in USD per 1M tokens"),
        ({"unit": "per 1K tokens", "models": {}}, "has unit 'per 1K tokens'"),
        ({"source": [1], "models": {}}, "has a source that is not a list of URLs"),
    ],
)
def test_a_malformed_project_file_says_what_is_wrong_and_the_shape(
    tmp_path: Path, content: Any, problem: str
) -> None:
    path = write(tmp_path / "prices.json", content)
    with pytest.raises(ConfigError) as raised:
        Prices.load(path)
    message = str(raised.value)
    assert message.startswith(f"llmtape: the price file {problem}")
    assert f"file: {path}" in message
    assert 'expected: {"date": "YYYY-MM-DD"' in message
    assert '"models": {"my-model": {"input": 0.5, "output": 1.5}}' in message


def test_a_missing_project_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"the price file does not exist\n  file: .*nowhere\.json"):
        Prices.load(tmp_path / "nowhere.json")
