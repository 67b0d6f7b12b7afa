"""Configurable matching: what the key sees of a body."""

from __future__ import annotations

from typing import Any

import pytest

from llmtape.errors import ConfigError
from llmtape.keys import request_key
from llmtape.matching import Matching, parse_path

BODY = {
    "model": "m",
    "user": "u-123",
    "metadata": {"trace_id": "t-1", "team": "a"},
    "messages": [
        {"role": "user", "content": "at 2026-11-21T10:00:00Z", "name": "ann"},
        {"role": "tool", "name": "x"},
    ],
}


def upper_model(body: Any) -> Any:
    return {**body, "model": body["model"].upper()}


def test_strict_by_default_leaves_the_body_and_key_alone() -> None:
    assert Matching().strict
    assert Matching().apply(BODY) is BODY


def test_ignored_paths_are_removed_without_touching_the_original() -> None:
    matching = Matching(
        ignore=("body.user", "body.metadata.trace_id", "body.messages[*].name", "body.nope.deeper")
    )
    assert matching.apply(BODY) == {
        "model": "m",
        "metadata": {"team": "a"},
        "messages": [{"role": "user", "content": "at 2026-11-21T10:00:00Z"}, {"role": "tool"}],
    }
    assert BODY["user"] == "u-123"
    assert Matching(ignore=("body.messages[1]",)).apply(BODY)["messages"][1] == {"role": "tool", "name": "x"}


def test_placeholders_and_the_hook_change_what_the_key_sees() -> None:
    matching = Matching.configured(placeholders=[r"\d{4}-\d\d-\d\dT[\d:]+Z => <time>"])
    assert matching.apply(BODY)["messages"][0]["content"] == "at <time>"
    other = {
        **BODY,
        "messages": [{**BODY["messages"][0], "content": "at 2027-01-01T00:00:00Z"}, BODY["messages"][1]],
    }
    assert request_key("POST", "/e", matching.apply(other)) == request_key("POST", "/e", matching.apply(BODY))
    hooked = Matching().extended(normalizer=upper_model)
    assert hooked.apply(BODY)["model"] == "M"
    assert hooked.stored() == {
        "ignore": [],
        "placeholders": [],
        "normalizer": "tests.unit.test_matching:upper_model",
        # what the marker added, apart, for llmtape rehash
        "marker": {"ignore": [], "placeholders": [], "normalizer": "tests.unit.test_matching:upper_model"},
    }
    assert Matching.configured(normalizer="tests.unit.test_matching:upper_model").apply(BODY)["model"] == "M"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Matching(ignore=("user",)), "must start with 'body'"),
        (lambda: Matching(ignore=("body.a[x]",)), "write it like 'body.messages[*].name'"),
        (lambda: Matching.configured(placeholders=["no arrow"]), "is not 'REGEX => REPLACEMENT'"),
        (lambda: Matching.configured(placeholders=["( => x"]), "is not a regular expression"),
        (lambda: Matching.configured(normalizer="nowhere:fn"), "cannot load the normalizer 'nowhere:fn'"),
    ],
)
def test_bad_settings_say_how_to_write_them(build: Any, message: str) -> None:
    with pytest.raises(
        ConfigError, match=message.replace("[", r"\[").replace("*", r"\*").replace("(", r"\(")
    ):
        build()


def test_paths_parse() -> None:
    assert parse_path("body.messages[*].name") == ["messages", "*", "name"]
    assert parse_path("body.a[2].b-c") == ["a", 2, "b-c"]
