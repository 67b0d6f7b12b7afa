"""Which recordings a test run used, and which it cannot have needed.

A run notes the recording files it read or wrote, the tests that ran to their end, and what it did
not cover: tests that did not (skipped, xfailed, failed, deselected, never reached), collectors
that failed or were skipped, and a collection narrower than the suite (tests named on the command
line, ``--ignore``, ``--lf``, pytest started below the rootdir). A recording is unused only when
nothing used it, the run passed, its collection was the whole suite, and every test that could use
the recording ran to its end; a recording modified after the run started is never unused.

pytest keeps the last run's record in its cache (``.pytest_cache/v/llmtape/usage``); a shard of a
split suite writes its own as well (``--llmtape-usage``), and :func:`combine` merges the records of
shards, as ``coverage combine`` does: a test counts as run when any shard ran it to its end.

A sidecar file (``files/`` beside the recordings) is unused when no recording that stays names it: it
goes with the last unused recording that did, and is kept while any recording it cannot read is there.
"""

from __future__ import annotations

import json
import os
import re
import socket
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from llmtape.errors import LlmtapeError, shown
from llmtape.format import sidecar
from llmtape.store import modified

VERSION = 2
CACHE_KEY = "llmtape/usage"
CACHE_FILE = Path(".pytest_cache", "v", "llmtape", "usage")
NOT_REACHED = "did not run"
# The writer puts a per-test recording's test_id first; reading that far tells the scope of a file.
_TEST_ID = re.compile(rb'\{\s*"test_id":\s*("(?:[^"\\]|\\.)*")')
# A sidecar's name wherever a recording holds it (a superset of those it refers to: none is lost).
_SIDECAR = re.compile(rb'"(' + sidecar.FOLDER.encode() + rb'/[0-9a-f]{64}(?:\.[a-z0-9]{1,10})?)"')
_listeners: list[set[Path]] = []  # the used-file sets of the pytest sessions running in this process


@dataclass(frozen=True)
class NotRun:
    """A test that did not run to its end: why, and the directories whose shared recordings it could use."""

    why: str  # skipped, xfailed, failed, deselected, or "did not run"
    directories: frozenset[Path]


@dataclass
class Progress:
    """How far each collected test of this process got, from its reports."""

    expected: dict[str, frozenset[Path]] = field(default_factory=dict)  # node id -> reach
    stopped: dict[str, str] = field(default_factory=dict)  # node id -> the first thing that stopped it
    called: set[str] = field(default_factory=set)
    ran: set[str] = field(default_factory=set)

    def report(self, nodeid: str, when: str, outcome: str, xfail: bool) -> None:
        if outcome == "skipped":
            self.stopped.setdefault(nodeid, "xfailed" if xfail else "skipped")
        elif outcome == "failed":
            self.stopped.setdefault(nodeid, "failed")
        elif when == "call":
            self.called.add(nodeid)
        if when == "teardown" and nodeid in self.called and nodeid not in self.stopped:
            self.ran.add(nodeid)


@dataclass
class Verdict:
    """What a record says of the recordings in its directories."""

    unused: list[Path]  # nothing used them and nothing that could have was left out: safe to delete
    newer: list[Path]  # would be unused, but were modified after the run started: kept
    undecided: list[Path]  # not used, but the record cannot tell whether they are needed
    reasons: list[str]  # why not
    files: list[Path] = field(default_factory=list)  # sidecar files that only unused recordings name


@dataclass
class Usage:
    """The record of one run (or of shards combined): what was used, what ran, what was left out."""

    started: float = 0.0
    passed: bool = False
    narrowed: list[str] = field(default_factory=list)  # why the collection was narrower than the suite
    gaps: dict[str, str] = field(default_factory=dict)  # collector node id -> "skipped" or "failed"
    directories: set[Path] = field(default_factory=set)  # judged: the directories the run's tests used
    used: set[Path] = field(default_factory=set)
    ran: set[str] = field(default_factory=set)
    not_run: dict[str, NotRun] = field(default_factory=dict)
    records: int = 1

    def note(self, used: Iterable[Path], directories: Iterable[Path]) -> None:
        self.used |= {path.resolve() for path in used}
        self.directories |= {directory.resolve() for directory in directories}

    def left_out(self, nodeid: str, entry: NotRun) -> None:
        """Note a test that did not run to its end; a reason beats "did not run"."""
        known = self.not_run.get(nodeid)
        why = entry.why if known is None or known.why == NOT_REACHED else known.why
        self.not_run[nodeid] = NotRun(why, entry.directories | (known.directories if known else frozenset()))

    def finish(self, progress: Progress) -> None:
        """Fold in the reports of this process's tests."""
        self.ran |= progress.ran
        for nodeid, reach in progress.expected.items():
            if nodeid not in progress.ran:
                self.left_out(nodeid, NotRun(progress.stopped.get(nodeid, NOT_REACHED), reach))

    def merge(self, other: Usage) -> None:
        """Add the record of another process of the same run (an xdist worker)."""
        self.used |= other.used
        self.directories |= other.directories
        self.ran |= other.ran
        self.gaps |= other.gaps
        self.narrowed += [reason for reason in other.narrowed if reason not in self.narrowed]
        for nodeid, entry in other.not_run.items():
            self.left_out(nodeid, entry)

    def cannot_tell(self) -> list[str]:
        """Why this record cannot judge any recording, if it cannot."""
        if not self.passed:
            return ["the run did not pass" if self.records == 1 else "one of the runs did not pass"]
        gaps = [
            f"{nodeid} was skipped at collection"
            if why == "skipped"
            else f"collecting {nodeid or 'the suite'} failed"
            for nodeid, why in sorted(self.gaps.items())
        ]
        return self.narrowed + _few(gaps, "more collection problems")

    def left_out_tests(self) -> dict[str, NotRun]:
        return {n: entry for n, entry in self.not_run.items() if n not in self.ran}

    def verdict(self) -> Verdict:
        present = {d: sorted(d.glob("*.json")) for d in sorted(self.directories) if d.is_dir()}
        candidates = [p for paths in present.values() for p in paths if p not in self.used]
        reasons = self.cannot_tell()
        if reasons:
            return Verdict([], [], candidates, reasons)
        left_out = self.left_out_tests()
        unused: list[Path] = []
        undecided: list[Path] = []
        blocking: dict[str, NotRun] = {}
        for directory, paths in present.items():
            blockers = {n: entry for n, entry in left_out.items() if directory in entry.directories}
            for path in (p for p in paths if p not in self.used):
                # A per-test recording is only ever used by its test: that test having run decides it.
                if not blockers or (self.ran and _test_id(path) in self.ran):
                    unused.append(path)
                else:
                    undecided.append(path)
                    blocking |= blockers
        newer = [path for path in unused if modified(path) >= self.started]
        kept = set(newer)
        unused = [p for p in unused if p not in kept]
        files = _unused_files(present, set(unused), self.started)
        return Verdict(unused, newer, undecided, describe(blocking), files)

    def to_json(self, root: Path) -> dict[str, Any]:
        used: dict[str, list[str]] = {}
        for path in sorted(self.used):
            used.setdefault(_relative(path.parent, root), []).append(path.name)
        return {
            "llmtape_usage": VERSION,
            "started": self.started,
            "passed": self.passed,
            "records": self.records,
            "narrowed": self.narrowed,
            "gaps": dict(sorted(self.gaps.items())),
            "directories": sorted(_relative(d, root) for d in self.directories),
            "used": used,
            "ran": sorted(self.ran),
            "not_run": {
                nodeid: {
                    "why": entry.why,
                    "directories": sorted(_relative(d, root) for d in entry.directories),
                }
                for nodeid, entry in sorted(self.left_out_tests().items())
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], root: Path) -> Usage:
        def absolute(name: str) -> Path:
            return (root / name).resolve()

        return cls(
            started=float(data["started"]),
            passed=bool(data["passed"]),
            narrowed=list(data["narrowed"]),
            gaps=dict(data["gaps"]),
            directories={absolute(d) for d in data["directories"]},
            used={absolute(d) / name for d, names in data["used"].items() for name in names},
            ran=set(data["ran"]),
            not_run={
                n: NotRun(e["why"], frozenset(absolute(d) for d in e["directories"]))
                for n, e in data["not_run"].items()
            },
            records=int(data.get("records", 1)),
        )


def _unused_files(present: dict[Path, list[Path]], unused: set[Path], started: float) -> list[Path]:
    """The sidecar files of each directory that no recording staying there names."""
    found: list[Path] = []
    for directory, paths in present.items():
        files = sidecar.present(directory)
        if not files:
            continue
        named: set[str] = set()
        try:
            for path in paths:
                if path not in unused:
                    named.update(m.decode() for m in _SIDECAR.findall(path.read_bytes()))
        except OSError:
            continue  # a recording it cannot read may name any of them
        found += [f for f in files if f"{sidecar.FOLDER}/{f.name}" not in named and modified(f) < started]
    return found


def combine(records: list[Usage]) -> Usage:
    """The union of shards' records: a test ran when one shard ran it to its end; the collection was
    whole when one shard collected the whole suite and every collector failed there was collected by
    another such shard; the union passed when every shard did, and started when the first did."""
    whole = [r for r in records if not r.narrowed]
    union = Usage(started=min(r.started for r in records), passed=all(r.passed for r in records))
    union.records = sum(r.records for r in records)
    for record in records:
        union.used |= record.used
        union.directories |= record.directories
        union.ran |= record.ran
        for nodeid, entry in record.not_run.items():
            union.left_out(nodeid, entry)
    if whole:
        union.gaps = {n: why for n, why in whole[0].gaps.items() if all(n in r.gaps for r in whole)}
    else:
        reasons = list(dict.fromkeys(reason for r in records for reason in r.narrowed))
        union.narrowed = [f"no record collected the whole suite ({'; '.join(reasons)})"]
    return union


def describe(left_out: dict[str, NotRun]) -> list[str]:
    """The tests that did not run to their end, by why, with a few names."""
    by_why: dict[str, list[str]] = {}
    for nodeid, entry in sorted(left_out.items()):
        by_why.setdefault(entry.why, []).append(nodeid)
    verbs = {
        "skipped": "was skipped",
        "deselected": "was deselected",
        "xfailed": "xfailed",
        "failed": "failed",
    }
    lines = []
    for why, names in by_why.items():
        verb = verbs.get(why, why)
        if len(names) != 1:
            verb = verb.replace("was ", "were ")
        subject = f"{len(names)} test{'s' if len(names) != 1 else ''} {verb}"
        lines.append(subject if why == "deselected" else f"{subject} ({', '.join(_few(names, 'more'))})")
    return lines


def load(path: Path, root: Path) -> Usage:
    """A usage record from a file, its directories relative to ``root``."""
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise LlmtapeError(
            f"llmtape: no test run recorded in {shown(path)}; run the whole suite with pytest first"
        ) from None
    except (OSError, orjson.JSONDecodeError) as error:
        raise LlmtapeError(f"llmtape: cannot read the usage record {shown(path)} ({error})") from None
    version = data.get("llmtape_usage") if isinstance(data, dict) else None
    if version != VERSION:
        older = not isinstance(version, int) or version < VERSION
        raise LlmtapeError(
            f"llmtape: {shown(path)} was written by an older llmtape; run the test suite again"
            if older
            else f"llmtape: {shown(path)} was written by a newer llmtape; upgrade (pip install -U llmtape)"
        )
    try:
        return Usage.from_json(data, root)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise LlmtapeError(f"llmtape: the usage record {shown(path)} is damaged ({error!r})") from None


def write(path: str | Path, data: dict[str, Any]) -> Path:
    """Write a record atomically; a directory (or a path ending in a separator) gets a file with a name
    unique to this machine and process, as a shard's record needs."""
    if Path(path).is_dir() or str(path).endswith(("/", os.sep)):
        path = Path(path, f"usage-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.json")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    temp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(temp, path)
    return path


def delete(paths: Iterable[Path]) -> int:
    """Remove recording files; the number removed."""
    count = 0
    for path in paths:
        path.unlink(missing_ok=True)
        count += 1
    return count


@contextmanager
def listening() -> Iterator[set[Path]]:
    """Collect the recordings that ``llmtape.tape`` blocks use while a pytest session runs."""
    used: set[Path] = set()
    _listeners.append(used)
    try:
        yield used
    finally:  # by identity: a nested session's set may be equal to this one
        _listeners[:] = [listener for listener in _listeners if listener is not used]


def noted(paths: Iterable[Path]) -> None:
    """An ``llmtape.tape`` block used these recordings: every session running here counts them used."""
    for used in _listeners:
        used.update(paths)


def _few(items: list[str], more: str, limit: int = 3) -> list[str]:
    return items if len(items) <= limit else [*items[:limit], f"and {len(items) - limit} {more}"]


def _test_id(path: Path) -> str | None:
    try:
        with path.open("rb") as file:
            match = _TEST_ID.match(file.read(4096))
    except OSError:
        return None
    return str(json.loads(match.group(1))) if match else None


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
