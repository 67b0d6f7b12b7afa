"""The ``llmtape`` command: work with a recordings directory outside pytest.

llmtape import --from llama-stack|vcr SRC... [--dir DIR] [--scope shared|test]
llmtape verify [--dir DIR] [--no-schema]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from llmtape.config import Endpoints
from llmtape.errors import LlmtapeError
from llmtape.importers import Imported, from_llama_stack, from_vcr
from llmtape.keys import file_name
from llmtape.store import Store
from llmtape.verify import problems

SOURCES = {"llama-stack": ("*.json",), "vcr": ("*.yaml", "*.yml")}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status is 0 when it found nothing wrong."""
    args = _parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except LlmtapeError as error:
        print(error, file=sys.stderr)
        return 2
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmtape", description="Record and replay LLM calls: the recordings."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    importer = commands.add_parser("import", help="convert llama-stack recordings or vcrpy cassettes")
    importer.add_argument("--from", dest="source", choices=sorted(SOURCES), required=True)
    importer.add_argument("paths", nargs="+", metavar="SRC", type=Path, help="files or directories")
    importer.add_argument("--dir", type=Path, default=Path("recordings"), help="recordings directory")
    importer.add_argument(
        "--scope", choices=("shared", "test"), default="shared", help="key rule to import with"
    )
    importer.set_defaults(run=_import)
    verify = commands.add_parser("verify", help="check every recording; non-zero exit on any problem")
    verify.add_argument("--dir", type=Path, default=Path("recordings"), help="recordings directory")
    verify.add_argument("--no-schema", dest="schema", action="store_false", help="skip the SDK schema check")
    verify.set_defaults(run=_verify)
    return parser


def _files(paths: list[Path], patterns: tuple[str, ...]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for pattern in patterns for p in path.rglob(pattern))
        elif path.exists():
            found.append(path)
        else:
            raise LlmtapeError(f"llmtape: {path} does not exist")
    return found


def _imported(source: str, files: list[Path], per_test: bool) -> Iterator[tuple[Path, Imported]]:
    endpoints = Endpoints()
    for path in files:
        pairs = (
            from_llama_stack(path, per_test=per_test)
            if source == "llama-stack"
            else from_vcr(path, endpoints)
        )
        seen: Counter[str] = Counter()
        for key, recording in pairs:
            seen[key] += 1  # a request repeated within one source (a retry) keeps its order
            yield path, (file_name(key, seen[key]), recording)


def _import(args: argparse.Namespace) -> int:
    files = _files(args.paths, SOURCES[args.source])
    store = Store(args.dir)
    written, collided = 0, 0
    for number, (path, (name, recording)) in enumerate(
        _imported(args.source, files, args.scope == "test"), 1
    ):
        if store.path(name).exists():
            collided += 1
            print(f"  kept the existing {name}.json; {path} sends the same request")
        else:
            store.save(name, recording)
            written += 1
        if number % 100 == 0:
            print(f"  {number} imported...", file=sys.stderr)
    print(f"llmtape: imported {len(files)} files into {args.dir}: {written} written, {collided} collided")
    if collided and args.scope == "shared":
        print("llmtape: identical requests share one recording in the shared scope; --scope test keeps each")
    return 0


def _verify(args: argparse.Namespace) -> int:
    files = sorted(args.dir.glob("*.json"))
    found = [f"{path}: {line}" for path in files for line in problems(path, schema=args.schema)]
    for line in found:
        print(line)
    broken = len({line.split(": ", 1)[0] for line in found})
    print(
        f"llmtape: verified {len(files)} recordings in {args.dir}: "
        f"{broken} with problems ({len(found)} in all)"
    )
    return 1 if found else 0


def run(argv: Any = None) -> None:
    """Console-script entry point."""
    try:
        sys.exit(main(argv))
    except BrokenPipeError:  # the output went to `head` or a closed pager
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
