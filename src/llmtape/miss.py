"""The message of a miss: what was sent, where its recording was looked for, and what is closest."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from llmtape.errors import shown
from llmtape.jsondiff import json_diff
from llmtape.store import CLOSEST_SEARCH_SECONDS, Store

if TYPE_CHECKING:
    from llmtape.context import Options
    from llmtape.incoming import Incoming

SHOWN_DIFFERENCES = 12


def closest(store: Store, incoming: Incoming, options: Options) -> tuple[Path, list[str]] | None:
    """The recording of the same endpoint whose body differs in the fewest JSON paths (as matched)."""
    best: tuple[Path, list[str]] | None = None
    sent = options.matching.apply(incoming.body)
    for path, recording in store.each(limit_seconds=CLOSEST_SEARCH_SECONDS):
        if isinstance(recording, Exception):
            continue
        request = recording["request"]
        if request["method"] != incoming.method or request["endpoint"] != incoming.endpoint:
            continue
        differences = json_diff(options.matching.apply(request["body"]), sent)
        if best is None or len(differences) < len(best[1]):
            best = (path, differences)
    return best


def miss_message(incoming: Incoming, store: Store, options: Options) -> str:
    """The full explanation of a replay miss, ending with the command that records it."""
    model = incoming.model
    lines = [
        f"llmtape: no recording for {incoming.method} {incoming.url}"
        + (f" (model {model!r})" if model else ""),
        f"  key:      {incoming.key}",
        f"  expected: {shown(incoming.path)}",
    ]
    occurrence = incoming.occurrence
    if occurrence > 1:
        lines.append(
            f"  repeat:   this test sent the same request {occurrence} times; "
            f"the first {occurrence - 1} replayed, this one was never recorded"
        )
        lines.append(f"  to record it: {options.record_fix}")
        return "\n".join(lines)
    found = closest(store, incoming, options)
    if found is None:
        lines.append(
            f"  closest:  no recording of {incoming.method} {incoming.endpoint} in {shown(store.directory)}"
        )
    else:
        path, differences = found
        lines.append(f"  closest:  {shown(path)}, whose body differs (recorded != sent) at:")
        lines += [f"    {line}" for line in differences[:SHOWN_DIFFERENCES]]
        if len(differences) > SHOWN_DIFFERENCES:
            lines.append(f"    ... and {len(differences) - SHOWN_DIFFERENCES} more")
    lines.append(f"  to record it: {options.record_fix}")
    return "\n".join(lines)
