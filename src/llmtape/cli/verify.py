"""Checks of a recordings directory: each file passes the format's parser, is named by its key, holds
nothing shaped like a credential, has each sidecar file it names with the bytes its name promises, and
(where the SDK is installed) still matches the SDK's schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llmtape.cli.upkeep import own_matching
from llmtape.errors import LlmtapeError, RecordingError
from llmtape.format import sidecar
from llmtape.format.recording import Recording, files_of, parse
from llmtape.format.typemap import PARTIAL_CLASSES, sdk_class
from llmtape.matching import Matching, recording_key, stored_matching
from llmtape.secrets import recording_shapes
from llmtape.store import Store


def problems(path: Path, *, schema: bool = True, project: Matching | None = None) -> Iterator[str]:
    """One line per problem of one recording file."""
    try:
        content = path.read_bytes()
        recording = parse(content, path)
    except OSError as error:
        yield f"cannot be read ({error})"
        return
    except RecordingError as error:
        yield str(error).splitlines()[0].removeprefix("llmtape: ")
        return
    for secret in recording_shapes(recording):
        yield f"secret-looking value: {secret}; remove it and record again"
    yield from filter(None, (sidecar.problem(path, name) for name in files_of(recording)))
    yield from _name(path, recording, project or Matching())
    if not schema:
        return
    response = recording["response"]
    items = response["body"] if response["is_streaming"] else [response["body"]]
    # The same drift in many chunks is one line, naming the chunks it affects.
    found: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        if item is not None:
            for line in drift(item["__type__"], item["__data__"]):
                found.setdefault(line, []).append(index)
    for line, indices in found.items():
        yield f"{_where(indices) if response['is_streaming'] else 'body'}: {line}"


def leftover_lines(store: Store) -> list[str]:
    """One line per temporary file that an interrupted write left in the directory."""
    return [
        f"{path}: a temporary file left by an interrupted write, not a recording; delete it "
        "(the next pytest run that records into this directory deletes it too)"
        for path in store.leftovers()
    ]


def _where(indices: list[int]) -> str:
    if len(indices) == 1:
        return f"chunk {indices[0]}"
    if indices == list(range(indices[0], indices[-1] + 1)):
        return f"chunks {indices[0]}-{indices[-1]}"
    shown = ", ".join(map(str, indices[:3]))
    return f"chunks {shown}" + (f" and {len(indices) - 3} more" if len(indices) > 3 else "")


def _name(path: Path, recording: Recording, project: Matching) -> Iterator[str]:
    try:
        key = recording_key(recording, stored_matching(recording, project, path))
    except RecordingError as error:
        yield str(error).splitlines()[0]
        return
    stem = path.name.removesuffix(".json")
    base, _, occurrence = stem.partition(".")
    if base != key or (occurrence and not occurrence.isdigit()):
        yield f"file name does not match the stored request, whose key is {key}; run `llmtape rehash`"
        return
    try:
        today, known = own_matching(recording, project)
    except LlmtapeError:  # a marker's normalizer that cannot be imported here: nothing to compare
        return
    if known and recording_key(recording, today) != key:
        yield (
            "keyed with matching settings its test no longer uses (the project's changed), so replay "
            f"looks for {recording_key(recording, today)}; run `llmtape rehash`"
        )


def drift(type_name: str, data: Any) -> list[str]:
    """How ``data`` departs from the SDK class ``type_name``: validation errors and unknown fields."""
    from pydantic import BaseModel, ValidationError  # installed with every SDK the type map names

    cls = sdk_class(type_name)
    if cls is None or not issubclass(cls, BaseModel):
        return []
    try:
        instance = cls.model_validate(data)
    except ValidationError as error:
        return [f"{_dotted(e['loc'])}: {e['msg']} (per {type_name})" for e in error.errors()]
    if type_name in PARTIAL_CLASSES:
        return []
    return [f"{path}: field not in {type_name}" for path in _extra(instance, "")]


def _extra(value: Any, prefix: str) -> Iterator[str]:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        for name in value.model_extra or {}:
            yield f"{prefix}{name}"
        for name in type(value).model_fields:
            yield from _extra(getattr(value, name, None), f"{prefix}{name}.")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _extra(item, f"{prefix.rstrip('.')}[{index}].")


def _dotted(location: tuple[Any, ...]) -> str:
    return (
        "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".")
        or "(root)"
    )
