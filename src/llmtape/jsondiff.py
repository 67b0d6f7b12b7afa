"""JSON path differences between two request bodies, for miss messages."""

from __future__ import annotations

from typing import Any

from llmtape.secrets import masked

MISSING = "<missing>"

Difference = tuple[str, Any, Any]  # (JSON path, old value, new value), MISSING for an absent side


def differences(old: Any, new: Any, path: str = "body") -> list[Difference]:
    """Every leaf where the two JSON values differ, with both values."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[Difference] = []
        for key in [*old, *(k for k in new if k not in old)]:
            found += differences(old.get(key, MISSING), new.get(key, MISSING), f"{path}.{key}")
        return found
    if isinstance(old, list) and isinstance(new, list):
        found = []
        for index in range(max(len(old), len(new))):
            left = old[index] if index < len(old) else MISSING
            right = new[index] if index < len(new) else MISSING
            found += differences(left, right, f"{path}[{index}]")
        return found
    if old == new and type(old) is type(new):
        return []
    return [(path, old, new)]


def json_diff(old: Any, new: Any, path: str = "body") -> list[str]:
    """Lines ``path: old != new`` for every leaf where the two JSON values differ."""
    return [shown_difference(difference) for difference in differences(old, new, path)]


def shown_difference(difference: Difference) -> str:
    path, old, new = difference
    return f"{path}: {_show(old)} != {_show(new)}"


def _show(value: Any, limit: int = 80) -> str:
    # Masked before it is cut short: a credential cut in the middle would no longer be recognized.
    text = value if value is MISSING else masked(repr(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."
