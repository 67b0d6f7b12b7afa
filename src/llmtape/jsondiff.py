"""JSON path differences between two request bodies, for miss messages."""

from __future__ import annotations

from typing import Any

MISSING = "<missing>"


def json_diff(old: Any, new: Any, path: str = "body") -> list[str]:
    """Lines ``path: old != new`` for every leaf where the two JSON values differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        lines: list[str] = []
        for key in [*old, *(k for k in new if k not in old)]:
            lines += json_diff(old.get(key, MISSING), new.get(key, MISSING), f"{path}.{key}")
        return lines
    if isinstance(old, list) and isinstance(new, list):
        lines = []
        for index in range(max(len(old), len(new))):
            left = old[index] if index < len(old) else MISSING
            right = new[index] if index < len(new) else MISSING
            lines += json_diff(left, right, f"{path}[{index}]")
        return lines
    if old == new and type(old) is type(new):
        return []
    return [f"{path}: {_show(old)} != {_show(new)}"]


def _show(value: Any, limit: int = 80) -> str:
    text = value if value is MISSING else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
