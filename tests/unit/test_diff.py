"""JSON path differences shown in miss messages."""

from __future__ import annotations

from llmtape.jsondiff import json_diff


def test_reports_every_differing_leaf_with_its_path() -> None:
    old = {"model": "m", "messages": [{"role": "user", "content": "A"}], "temperature": 0.5}
    new = {
        "model": "m",
        "messages": [{"role": "user", "content": "B"}, {"role": "user", "content": "C"}],
        "top_p": 1,
    }
    assert json_diff(old, new) == [
        "body.messages[0].content: 'A' != 'B'",
        "body.messages[1]: <missing> != {'role': 'user', 'content': 'C'}",
        "body.temperature: 0.5 != <missing>",
        "body.top_p: <missing> != 1",
    ]


def test_equal_values_have_no_difference_but_types_count() -> None:
    assert json_diff({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}) == []
    assert json_diff({"n": 1}, {"n": 1.0}) == ["body.n: 1 != 1.0"]
    assert json_diff({"n": 1}, {"n": True}) == ["body.n: 1 != True"]


def test_long_values_are_shortened() -> None:
    (line,) = json_diff("x" * 500, "y")
    assert len(line) < 120
    assert line.endswith("!= 'y'")
