"""Configurable matching: JSON paths left out of the key, placeholders for volatile text, a hook.

The default is strict: the whole body counts. Settings in force are stored in each recording,
so its key can always be explained and recomputed.
"""

from __future__ import annotations

import copy
import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmtape.errors import ConfigError, RecordingError
from llmtape.format.recording import MatchingSettings, Recording
from llmtape.jsonvalue import map_strings
from llmtape.keys import request_key, url_query

Normalizer = Callable[[Any], Any]
_TOKEN = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+|\*)\]")


def parse_path(path: str) -> list[str | int]:
    """``body.messages[*].name`` as ``["messages", "*", "name"]``."""
    if not path.startswith("body"):
        raise ConfigError(
            f"llmtape: ignored path {path!r} must start with 'body', like 'body.metadata.trace_id'"
        )
    rest, parts = path[4:], []
    position = 0
    for match in _TOKEN.finditer(rest):
        if match.start() != position:
            break
        name, index = match.groups()
        parts.append(name if name is not None else (index if index == "*" else int(index)))
        position = match.end()
    if position != len(rest) or not parts:
        raise ConfigError(
            f"llmtape: cannot read the JSON path {path!r}; write it like 'body.messages[*].name'"
        )
    return parts


def _drop(value: Any, parts: list[str | int]) -> None:
    head, rest = parts[0], parts[1:]
    targets: list[Any]
    if head == "*" and isinstance(value, list):
        targets = value
    elif isinstance(head, int) and isinstance(value, list) and head < len(value):
        targets = [value[head]]
    elif isinstance(head, str) and head != "*" and isinstance(value, dict) and head in value:
        if not rest:
            del value[head]
            return
        targets = [value[head]]
    else:
        return
    if rest:
        for target in targets:
            _drop(target, rest)


def load_normalizer(name: str) -> Normalizer:
    """The hook ``module:function`` named in the project's configuration."""
    module, _, attribute = name.partition(":")
    try:
        found = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigError(
            f"llmtape: cannot load the normalizer {name!r} ({error}); name it 'module:function'"
        ) from None
    if not callable(found):
        raise ConfigError(f"llmtape: the normalizer {name!r} is not callable")
    return found  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Matching:
    """How a request body is turned into key material beyond the fixed rule."""

    ignore: tuple[str, ...] = ()
    placeholders: tuple[tuple[str, str], ...] = ()
    normalizer: str | None = None
    hook: Normalizer | None = None
    marker: Matching | None = None  # what a test's marker added (see extended), stored apart

    def __post_init__(self) -> None:
        for path in self.ignore:
            parse_path(path)
        for pattern, _ in self.placeholders:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ConfigError(
                    f"llmtape: placeholder pattern {pattern!r} is not a regular expression ({error})"
                ) from None

    @classmethod
    def configured(
        cls, ignore: Iterable[str] = (), placeholders: Iterable[str] = (), normalizer: str | None = None
    ) -> Matching:
        """From ini lines: paths, ``REGEX => REPLACEMENT`` lines, and ``module:function``."""
        pairs = []
        for line in placeholders:
            pattern, arrow, replacement = line.rpartition(" => ")
            if not arrow:
                raise ConfigError(f"llmtape: placeholder {line!r} is not 'REGEX => REPLACEMENT'")
            pairs.append((pattern.strip(), replacement.strip()))
        hook = load_normalizer(normalizer) if normalizer else None
        return cls(tuple(ignore), tuple(pairs), normalizer or None, hook)

    def extended(
        self,
        ignore: Iterable[str] = (),
        placeholders: dict[str, str] | None = None,
        normalizer: Normalizer | str | None = None,
    ) -> Matching:
        """These settings plus a test's own (from its marker)."""
        hook, name = self.hook, self.normalizer
        if isinstance(normalizer, str):
            hook, name = load_normalizer(normalizer), normalizer
        elif normalizer is not None:
            hook, name = normalizer, f"{normalizer.__module__}:{normalizer.__qualname__}"
        own = (name, hook) if normalizer is not None else (None, None)
        added = Matching(tuple(ignore), tuple((placeholders or {}).items()), *own)
        merged = (*self.placeholders, *added.placeholders)
        return Matching((*self.ignore, *added.ignore), merged, name, hook, added)

    @property
    def strict(self) -> bool:
        return not (self.ignore or self.placeholders or self.normalizer)

    def apply(self, body: Any) -> Any:
        """The body as the key sees it: ignored paths removed, placeholders applied, the hook run."""
        if self.strict:
            return body
        result = copy.deepcopy(body)
        for path in self.ignore:
            if isinstance(result, dict):
                _drop(result, parse_path(path))
        if self.placeholders:
            result = _substitute(result, [(re.compile(p), r) for p, r in self.placeholders])
        return self.hook(result) if self.hook else result

    def stored(self) -> MatchingSettings:
        """The settings as written into recordings, with the marker's part apart (null when none), so that
        ``llmtape rehash`` can add it to the project's settings of the day."""
        settings = self._fields()
        settings["marker"] = None if self.marker is None or self.marker.strict else self.marker._fields()
        return settings

    def _fields(self) -> MatchingSettings:
        return {
            "ignore": list(self.ignore),
            "placeholders": [list(p) for p in self.placeholders],
            "normalizer": self.normalizer,
        }


def _substitute(value: Any, rules: list[tuple[re.Pattern[str], str]]) -> Any:
    def change(text: str) -> str:
        for pattern, replacement in rules:
            text = pattern.sub(replacement, text)
        return text

    return map_strings(value, change)


def stored_matching(recording: Recording, project: Matching, path: Path) -> Matching:
    """The matching a recording was keyed with; its hook only if the project still configures it."""
    stored: dict[str, Any] = dict(recording["llmtape"].get("matching") or {})
    normalizer = stored.get("normalizer")
    if normalizer and normalizer != project.normalizer:
        raise RecordingError(
            f"llmtape: keyed with the normalizer {normalizer!r}, which the project does not configure; "
            "run `llmtape rehash`",
            path=str(path),
        )
    pairs = tuple((str(p), str(r)) for p, r in stored.get("placeholders") or [])
    return Matching(
        tuple(stored.get("ignore") or []), pairs, normalizer, project.hook if normalizer else None
    )


def recording_key(recording: Recording, matching: Matching) -> str:
    """The key of a recording's stored request under ``matching``."""
    request = recording["request"]
    body = matching.apply(request.get("body"))
    method, endpoint = str(request.get("method", "")), str(request.get("endpoint", ""))
    query = url_query(str(request.get("url", "")), bodyless=request.get("body") is None)
    return request_key(method, endpoint, body, recording.get("test_id"), query)
