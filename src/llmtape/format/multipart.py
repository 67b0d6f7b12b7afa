"""Request bodies as they are stored and keyed: JSON as it was sent; a ``multipart/form-data`` upload or
another body that is not JSON in a typed form.

A multipart body is stored as ``{"__type__": "multipart", "__data__": [part, ...]}``, its parts in the
order they were sent: a form field as ``{"name": ..., "value": <text>}``, a file (a part with a file name,
or whose bytes are not UTF-8) as ``{"name", "filename", "content_type", "file": "files/<sha256>.<ext>"}``,
its bytes in that sidecar. The boundary, chosen at random by the client, is in neither the key nor the
file. Another body that is not JSON is ``{"__type__": "text", "__data__": <text>}`` when it is UTF-8, else
``{"__type__": "file", "__data__": "files/<sha256>.<ext>"}``.
"""

from __future__ import annotations

import email.parser
import email.policy
from typing import Any

import orjson

from llmtape.format import sidecar
from llmtape.format.typemap import FILE_TYPE, MULTIPART_TYPE, TEXT_TYPE

Files = dict[str, bytes]  # sidecar name -> bytes


class Malformed(ValueError):
    """A multipart body that does not follow its own boundary."""


def is_multipart(content_type: str) -> bool:
    return content_type.partition(";")[0].strip().lower() == "multipart/form-data"


def stored_body(content: bytes, content_type: str) -> tuple[Any, Files]:
    """The stored form of a request body (its JSON, else the typed form of another body), and the
    sidecars it refers to; :class:`Malformed` for a multipart body that breaks its own framing."""
    if is_multipart(content_type):
        return _multipart(content, content_type)
    try:
        return orjson.loads(content), {}
    except orjson.JSONDecodeError:
        pass
    try:
        return {"__type__": TEXT_TYPE, "__data__": content.decode("utf-8")}, {}
    except UnicodeDecodeError:
        name = sidecar.name_for(content, content_type)
        return {"__type__": FILE_TYPE, "__data__": name}, {name: content}


def files_of(body: Any) -> list[str]:
    """The sidecar names a stored request body refers to."""
    if not _typed(body):
        return []
    if body["__type__"] == FILE_TYPE:
        return [body["__data__"]]
    if body["__type__"] == MULTIPART_TYPE:
        return [part["file"] for part in body["__data__"] if isinstance(part, dict) and "file" in part]
    return []


def problems(body: Any) -> list[str]:
    """What is wrong with a typed request body (none for JSON bodies, which are any JSON)."""
    if not _typed(body):
        return []
    kind, data = body["__type__"], body["__data__"]
    if kind == FILE_TYPE and not sidecar.is_name(data):
        return ["has a request.body file that is not a sidecar name (files/<sha256>.<ext>)"]
    if kind == MULTIPART_TYPE and not (isinstance(data, list) and all(map(_part_ok, data))):
        return [
            "has a request.body multipart whose parts are not {name, value} or "
            "{name, filename, content_type, file: files/<sha256>.<ext>}"
        ]
    return []


def _typed(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and body.keys() == {"__type__", "__data__"}
        and body["__type__"] in (FILE_TYPE, MULTIPART_TYPE)
    )


def _part_ok(part: Any) -> bool:
    if not isinstance(part, dict) or not isinstance(part.get("name"), str):
        return False
    if "file" in part:
        return sidecar.is_name(part["file"]) and all(
            isinstance(part.get(field), str) for field in ("filename", "content_type")
        )
    return isinstance(part.get("value"), str)


def _multipart(content: bytes, content_type: str) -> tuple[dict[str, Any], Files]:
    boundary = _boundary(content_type)
    parts, files = [], {}
    for head, data in _split(content, boundary):
        headers = email.parser.BytesHeaderParser(policy=email.policy.HTTP).parsebytes(head)
        name = headers.get_param("name", header="content-disposition")
        filename = headers.get_param("filename", header="content-disposition")
        if not isinstance(name, str):
            raise Malformed("a part has no name in its Content-Disposition")
        part_type = str(headers.get("content-type", ""))
        text = _text(data) if filename is None else None
        if text is not None:
            parts.append({"name": name, "value": text})
            continue
        shown_name = filename if isinstance(filename, str) else ""
        file = sidecar.name_for(data, part_type, shown_name)
        files[file] = data
        parts.append({"name": name, "filename": shown_name, "content_type": part_type or "", "file": file})
    return {"__type__": MULTIPART_TYPE, "__data__": parts}, files


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _boundary(content_type: str) -> bytes:
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "boundary" and value:
            return value.strip().strip('"').encode("latin-1")
    raise Malformed("the content-type names no boundary")


def _split(content: bytes, boundary: bytes) -> list[tuple[bytes, bytes]]:
    """Each part's header block and data, by RFC 2046: a part opens after a line ``--boundary``, its data
    ends at the line break before the next, and the last boundary is followed by ``--``."""
    pieces = (b"\r\n" + content).split(b"\r\n--" + boundary)
    if len(pieces) < 3 or not pieces[-1].startswith(b"--"):
        raise Malformed("the body does not end with its closing boundary")
    found = []
    for piece in pieces[1:-1]:
        _padding, newline, piece = piece.partition(b"\r\n")
        head, separator, data = piece.partition(b"\r\n\r\n")
        if not newline or not separator:
            raise Malformed("a part has no blank line after its headers")
        found.append((head + b"\r\n\r\n", data))
    return found
