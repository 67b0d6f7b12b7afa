"""The message of a miss: what was sent, where its recording was looked for, what is closest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmtape.diff import json_diff
from llmtape.store import Store, shown

SHOWN_DIFFERENCES = 12


def closest(
    store: Store, method: str, endpoint: str, body: Any, matching: Callable[[Any], Any]
) -> tuple[Path, list[str]] | None:
    """The recording of the same endpoint whose body differs in the fewest JSON paths (as matched)."""
    best: tuple[Path, list[str]] | None = None
    for path, recording in store.closest(method, endpoint):
        differences = json_diff(matching(recording["request"].get("body")), matching(body))
        if best is None or len(differences) < len(best[1]):
            best = (path, differences)
    return best


def miss_message(
    *,
    method: str,
    url: str,
    model: Any,
    key: str,
    name: str,
    occurrence: int,
    store: Store,
    body: Any,
    endpoint: str,
    matching: Callable[[Any], Any],
    fix: str,
) -> str:
    """The full explanation of a replay miss, ending with the command that records it."""
    lines = [
        f"llmtape: no recording for {method} {url}" + (f" (model {model!r})" if model else ""),
        f"  key:      {key}",
        f"  expected: {shown(store.path(name))}",
    ]
    if occurrence > 1:
        lines.append(
            f"  repeat:   this test sent the same request {occurrence} times; "
            f"the first {occurrence - 1} replayed, this one was never recorded"
        )
        lines.append(f"  to record it: {fix}")
        return "\n".join(lines)
    found = closest(store, method, endpoint, body, matching)
    if found is None:
        lines.append(f"  closest:  no recording of {method} {endpoint} in {shown(store.directory)}")
    else:
        path, differences = found
        lines.append(f"  closest:  {shown(path)}, whose body differs (recorded != sent) at:")
        lines += [f"    {line}" for line in differences[:SHOWN_DIFFERENCES]]
        if len(differences) > SHOWN_DIFFERENCES:
            lines.append(f"    ... and {len(differences) - SHOWN_DIFFERENCES} more")
    lines.append(f"  to record it: {fix}")
    return "\n".join(lines)
