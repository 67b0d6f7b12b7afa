"""The commands that change a recordings directory: ``prune``, ``usage combine`` and ``rehash``."""

from __future__ import annotations

from pathlib import Path

from llmtape.cli.commands import recordings
from llmtape.errors import LlmtapeError, shown
from llmtape.format.recording import Recording
from llmtape.matching import Matching, load_normalizer, recording_key
from llmtape.store import Store
from llmtape.usage import CACHE_FILE, Usage, combine, delete, describe, load, write

LEGACY_NOTE = (
    "keyed with the matching settings stored in it, which are not the project's; it predates llmtape "
    "keeping a marker's settings apart: if the project's settings changed since, record it again"
)


def prune_lines(directory: Path, usage_file: Path, really: bool, root: Path) -> list[str]:
    """The recordings the record says no test needs, deleted when ``really``; a record that cannot
    tell, or is older than one of them, is refused."""
    usage = load(usage_file, root)
    if usage.cannot_tell():
        reasons = "; ".join(usage.cannot_tell())
        raise LlmtapeError(f"llmtape: the test run cannot tell which recordings are unused: {reasons}")
    verdict = usage.verdict()
    here = directory.resolve()
    unused, newer, undecided = (
        [p for p in paths if p.parent == here] for paths in (verdict.unused, verdict.newer, verdict.undecided)
    )
    if newer:
        raise LlmtapeError(
            "\n".join(
                [
                    f"llmtape: the test run recorded in {shown(usage_file)} is older than {len(newer)} of "
                    "the recordings it did not use; a recording newer than the run is never deleted:",
                    *(f"  {shown(path)}" for path in newer),
                    "llmtape: run the test suite again, then prune",
                ]
            )
        )
    files = [path for path in verdict.files if path.parent.parent == here]
    if undecided and not unused and not files:
        reasons = "; ".join(verdict.reasons)
        raise LlmtapeError(f"llmtape: the test run cannot tell which recordings are unused: {reasons}")
    lines = [f"  {shown(path)}" for path in [*unused, *files]]
    if undecided:
        reasons = "; ".join(verdict.reasons)
        lines.append(f"llmtape: cannot tell whether {len(undecided)} other recordings are unused: {reasons}")
    also = f" and {len(files)} files only they name" if files else ""
    if really:
        line = f"llmtape: deleted {delete(unused)} unused recordings"
        if files:
            line += f" and {delete(files)} files only they named"
        return [*lines, line]
    return [*lines, f"llmtape: {len(unused)} unused recordings{also}; delete them with llmtape prune --yes"]


def combine_lines(sources: list[Path], output: Path | None, root: Path) -> list[str]:
    """Merge the usage records of shards into the one ``llmtape prune`` reads."""
    files = [
        p for source in sources for p in (sorted(source.glob("*.json")) if source.is_dir() else [source])
    ]
    if not files:
        raise LlmtapeError(f"llmtape: no usage records in {', '.join(map(shown, sources))}")
    union = combine([load(path, root) for path in files])
    target = output or root / CACHE_FILE
    if output is None and not target.parents[2].exists():  # pytest's cache dir, kept out of git
        target.parents[2].mkdir(parents=True)
        (target.parents[2] / ".gitignore").write_text("# Created by llmtape automatically.\n*\n")
    write(target, union.to_json(root))
    return [f"llmtape: combined {len(files)} usage records into {shown(target)}", _coverage(union)]


def _coverage(union: Usage) -> str:
    if union.cannot_tell():
        reasons = "; ".join(union.cannot_tell())
        return f"llmtape: together they cannot tell which recordings are unused: {reasons}"
    left_out = union.left_out_tests()
    if left_out:
        return (
            f"llmtape: together they ran the whole suite but for {'; '.join(describe(left_out))}; "
            "llmtape prune keeps the recordings those could use"
        )
    return "llmtape: together they ran the whole suite; llmtape prune lists what none of them used"


def own_matching(recording: Recording, project: Matching) -> tuple[Matching, bool]:
    """The matching settings the recording's own test keys it with today: the project's, plus what its
    marker added (stored apart in the recording); and whether the recording should store them. A
    recording made before the marker's part was stored apart keeps the settings stored in it."""
    stored = recording["llmtape"].get("matching")
    if stored is None or ("marker" not in stored and _same(stored, project)):
        return project, True  # strict, or the project's: a marker only ever adds to the project's
    if "marker" not in stored:
        name = stored["normalizer"]
        hook = project.hook if name == project.normalizer else (load_normalizer(name) if name else None)
        pairs = tuple((p, r) for p, r in stored["placeholders"])
        return Matching(tuple(stored["ignore"]), pairs, name, hook), False
    marker = stored.get("marker")
    if marker is None:
        return project, True
    placeholders = {p: r for p, r in marker["placeholders"]}
    return project.extended(marker["ignore"], placeholders, marker["normalizer"]), True


def _same(stored: object, project: Matching) -> bool:
    return stored == {key: value for key, value in project.stored().items() if key != "marker"}


def rehash_lines(directory: Path, project: Matching, dry_run: bool) -> list[str]:
    """Re-key every recording with the settings its own test uses; the dry run decides exactly as the
    real one (a file moved frees its name, a name taken is a collision), and only skips the writes."""
    lines, moved, collided = [], 0, 0
    store = Store(directory)
    taken = {path.name for path in directory.glob("*.json")}
    for path, recording in recordings(directory):
        try:
            matching, restamp = own_matching(recording, project)
        except LlmtapeError as error:
            lines.append(f"  kept {path.name}: {str(error).splitlines()[0]}")
            continue
        if not restamp:
            lines.append(f"  {path.name}: {LEGACY_NOTE}")
        _, dot, occurrence = path.name.removesuffix(".json").partition(".")
        name = recording_key(recording, matching) + dot + occurrence
        changed = restamp and _restamp(recording, matching)
        if path.name == f"{name}.json":
            if changed and not dry_run:
                store.save(name, recording)
            continue
        if f"{name}.json" in taken:
            collided += 1
            lines.append(f"  collision: {path.name} would become {name}.json, which exists; both kept")
            continue
        moved += 1
        taken.add(f"{name}.json")
        taken.discard(path.name)
        lines.append(f"  {path.name} -> {name}.json")
        if not dry_run:
            store.save(name, recording)
            path.unlink()
    verb = "would re-key" if dry_run else "re-keyed"
    return [*lines, f"llmtape: {verb} {moved} recordings, {collided} collisions"]


def _restamp(recording: Recording, matching: Matching) -> bool:
    """Store ``matching`` in the recording; True when that changed it."""
    before = recording["llmtape"].pop("matching", None)
    if not matching.strict:
        recording["llmtape"]["matching"] = matching.stored()
    return recording["llmtape"].get("matching") != before
