"""Binary bodies beside the recording: content-addressed files in a ``files/`` folder of its directory.

A body that is not text (an uploaded file, audio from a speech endpoint, a file's content) is stored as
``files/<sha256 of its bytes><extension>`` in the directory that holds the recording, and the JSON refers
to it by that relative name. The same bytes make the same name, so recordings that share a file share
one copy. Reading a sidecar checks its bytes against the digest in its name: a missing or altered file is
a :class:`RecordingError` naming the recording, the sidecar and the fix.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from llmtape.errors import RecordingError, shown

FOLDER = "files"
_NAME = re.compile(rf"{FOLDER}/([0-9a-f]{{64}})(\.[a-z0-9]{{1,10}})?")
_SUFFIX = re.compile(r"\.[a-z0-9]{1,10}")
_EXTENSIONS = {"audio/mpeg": ".mp3", "audio/mp3": ".mp3", "application/octet-stream": ".bin"}


def name_for(content: bytes, content_type: str = "", filename: str = "") -> str:
    """The sidecar name of ``content``: its sha256 and an extension from its file name, else its type."""
    digest = hashlib.sha256(content).hexdigest()
    return f"{FOLDER}/{digest}{_extension(content_type, filename)}"


def _extension(content_type: str, filename: str) -> str:
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if _SUFFIX.fullmatch(suffix):
        return suffix
    kind = content_type.partition(";")[0].strip().lower()
    guessed = _EXTENSIONS.get(kind) or mimetypes.guess_extension(kind) or ".bin"
    return guessed if _SUFFIX.fullmatch(guessed) else ".bin"


def is_name(value: object) -> bool:
    """True for a valid sidecar name (``files/<sha256>[.ext]``): nothing else is ever read or written."""
    return isinstance(value, str) and _NAME.fullmatch(value) is not None


def digest(name: str) -> str:
    """The sha256 hex digest a sidecar name promises."""
    found = _NAME.fullmatch(name)
    assert found is not None, f"not a sidecar name: {name!r}"
    return found[1]


def location(directory: Path, name: str) -> Path:
    """Where the sidecar ``name`` of a recording in ``directory`` lives."""
    return directory / name


def load(recording: Path | str, name: str) -> bytes:
    """The bytes of the sidecar ``name`` of the recording file ``recording``, checked against its name."""
    path = location(Path(recording).parent, name)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise _error(recording, name, "is missing") from None
    except OSError as error:
        raise _error(recording, name, f"cannot be read ({error})") from None
    if hashlib.sha256(content).hexdigest() != digest(name):
        raise _error(recording, name, "was altered: its bytes no longer match the sha256 in its name")
    return content


def problem(recording: Path, name: str) -> str | None:
    """Why the sidecar ``name`` of ``recording`` cannot be replayed, or None when it is sound."""
    try:
        load(recording, name)
    except RecordingError as error:
        return str(error).splitlines()[0].removeprefix("llmtape: ")
    return None


def _error(recording: Path | str, name: str, what: str) -> RecordingError:
    where = shown(location(Path(recording).parent, name))
    return RecordingError(
        f"llmtape: the recording's file {name} {what} ({where}); restore it from version control "
        "(commit the files/ folder with the recordings) or record again",
        path=recording,
    )


def save(directory: Path, files: Mapping[str, bytes]) -> None:
    """Write each sidecar that is not already there with the right bytes, atomically; an existing file
    whose bytes do not match its name is replaced. Raises OSError when the system refuses."""
    for name, content in files.items():
        path = location(directory, name)
        if _sound(path, name):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{digest(name)[:16]}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


def _sound(path: Path, name: str) -> bool:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == digest(name)
    except OSError:
        return False


def present(directory: Path) -> list[Path]:
    """The sidecar files in ``directory``'s ``files/`` folder."""
    folder = directory / FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and is_name(f"{FOLDER}/{p.name}"))
