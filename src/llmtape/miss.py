"""The message of a miss: what was sent, where its recording was looked for, and what is closest."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from llmtape.errors import shown
from llmtape.jsondiff import MISSING, Difference, differences, shown_difference
from llmtape.secrets import masked
from llmtape.store import CLOSEST_SEARCH_SECONDS, Store

if TYPE_CHECKING:
    from llmtape.context import Options
    from llmtape.incoming import Incoming

SHOWN_DIFFERENCES = 12
# Of the differing values, so that comparing one file stays a matter of milliseconds.
COMPARED_CHARACTERS = 5000


def closest(store: Store, incoming: Incoming, options: Options) -> tuple[Path, list[str]] | None:
    """The recording of the same endpoint whose body (as matched) differs in the fewest JSON paths; among
    as many, the one whose differing values read most like those sent, then the one of the same test."""
    best: tuple[tuple[int, float, bool], Path, list[Difference]] | None = None
    sent = options.matching.apply(incoming.body)
    for path, recording in store.each(limit_seconds=CLOSEST_SEARCH_SECONDS):
        if isinstance(recording, Exception):
            continue
        request = recording["request"]
        if request["method"] != incoming.method or request["endpoint"] != incoming.endpoint:
            continue
        found = differences(options.matching.apply(request["body"]), sent)
        if best is not None and len(found) > best[0][0]:
            continue  # cannot win: its text is never compared
        rank = (len(found), -_similarity(found), recording.get("test_id") != options.test_id)
        if best is None or rank < best[0]:
            best = (rank, path, found)
    return None if best is None else (best[1], [shown_difference(d) for d in best[2]])


def _similarity(found: list[Difference]) -> float:
    """How alike the recorded and the sent values at the differing paths read, from 0 to 1."""
    recorded, sent = ("\n".join(_text(d[side]) for d in found)[:COMPARED_CHARACTERS] for side in (1, 2))
    return difflib.SequenceMatcher(None, recorded, sent).ratio()


def _text(value: Any) -> str:
    if value is MISSING:
        return ""
    return value if isinstance(value, str) else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


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
        return masked("\n".join(lines))
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
    # The diff quotes what was sent, which may hold a credential the secret gate just refused to write.
    return masked("\n".join(lines))
