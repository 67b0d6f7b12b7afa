"""Which recordings a test run used, and which it did not.

A run that executed the whole suite (nothing deselected, no narrowing arguments, no early stop)
knows its unused recordings; pytest keeps the last run's usage in its cache
(``.pytest_cache/v/llmtape/usage``), where ``llmtape prune`` reads it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CACHE_KEY = "llmtape/usage"
CACHE_FILE = Path(".pytest_cache", "v", "llmtape", "usage")


@dataclass
class Usage:
    """The recording files used in the directories a run touched, and whether the run was complete."""

    directories: set[Path] = field(default_factory=set)
    used: set[Path] = field(default_factory=set)
    incomplete: list[str] = field(default_factory=list)  # why not, when the run was partial
    passed: bool = False

    @property
    def complete(self) -> bool:
        return not self.incomplete

    def unused(self) -> list[Path]:
        """Recordings in the touched directories that nothing read or wrote."""
        present = {p for d in self.directories if d.is_dir() for p in d.glob("*.json")}
        return sorted(present - self.used)

    def to_json(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "why_incomplete": self.incomplete,
            "passed": self.passed,
            "directories": {
                str(d): sorted(p.name for p in self.used if p.parent == d) for d in sorted(self.directories)
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Usage:
        directories = {Path(d) for d in data.get("directories", {})}
        used = {Path(d, name) for d, names in data.get("directories", {}).items() for name in names}
        why = list(data.get("why_incomplete", [])) or ([] if data.get("complete") else ["unknown"])
        return cls(directories, used, why, bool(data.get("passed")))


def delete(paths: Iterable[Path]) -> int:
    """Remove recording files; the number removed."""
    count = 0
    for path in paths:
        path.unlink(missing_ok=True)
        count += 1
    return count
