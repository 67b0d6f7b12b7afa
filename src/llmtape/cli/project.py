"""The project's llmtape settings as pytest would read them, for the command-line tool."""

from __future__ import annotations

import configparser
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmtape.matching import Matching

SECTIONS = (
    ("pytest.ini", "pytest"),
    ("pyproject.toml", None),
    ("tox.ini", "pytest"),
    ("setup.cfg", "tool:pytest"),
)


@dataclass
class Project:
    """Where the project is and what its pytest configuration says about llmtape."""

    root: Path
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def directory(self) -> Path:
        """The recordings directory: ``llmtape_dir`` under the rootdir, else ``recordings``."""
        return self.root / str(self.options.get("llmtape_dir") or "recordings")

    def matching(self) -> Matching:
        """The project's matching settings, its normalizer imported as pytest would import it."""
        self.importable()
        return Matching.configured(
            _lines(self.options.get("llmtape_ignore")),
            _lines(self.options.get("llmtape_placeholders")),
            self.options.get("llmtape_normalizer") or None,
        )

    def importable(self) -> None:
        """Put the project's code first on ``sys.path`` as pytest does: the rootdir, then the ``pythonpath``
        ini entries (relative to it). A console script's own ``sys.path`` holds neither."""
        folders = [self.root, *(self.root / entry for entry in _paths(self.options.get("pythonpath")))]
        for folder in reversed(folders):
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))


def find(start: Path) -> Project:
    """The nearest directory, from ``start`` up, with a pytest configuration; else ``start`` itself."""
    for folder in [start, *start.parents]:
        for name, section in SECTIONS:
            options = _read(folder / name, section)
            if options is not None:
                return Project(folder, options)
    return Project(start)


def _read(path: Path, section: str | None) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    if section is None:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("pytest", {})
        options = table.get("ini_options")
        return dict(options) if isinstance(options, dict) else None
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    return dict(parser[section]) if parser.has_section(section) else None


def _paths(value: Any) -> list[str]:
    """A ``paths`` ini value: a TOML list, or whitespace-separated in an ini file."""
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value or "").split()


def _lines(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [line.strip() for line in str(value).splitlines() if line.strip()]
