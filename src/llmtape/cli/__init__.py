"""The ``llmtape`` command: work with a recordings directory outside pytest.

llmtape list [--endpoint E] [--model M] [--text T] [--cost [--prices FILE]]
llmtape import --from llama-stack|vcr SRC... [--dir DIR] [--scope shared|test]
llmtape verify [--dir DIR] [--no-schema]
llmtape prune [--yes] [--usage FILE]; llmtape usage combine FILES... [--output FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmtape.cli.commands import (
    diff_lines,
    explain_lines,
    list_rows,
    request_of,
    resolve,
    show_lines,
)
from llmtape.cli.importers import run_import
from llmtape.cli.project import Project, find
from llmtape.cli.upkeep import combine_lines, prune_lines, rehash_lines
from llmtape.cli.verify import leftover_lines, problems
from llmtape.errors import LlmtapeError
from llmtape.prices import Prices
from llmtape.secrets import masked
from llmtape.store import Store
from llmtape.usage import CACHE_FILE

SOURCES = {"llama-stack": ("*.json",), "vcr": ("*.yaml", "*.yml")}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status is 0 when it found nothing wrong."""
    args = _parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except LlmtapeError as error:
        print(masked(str(error)), file=sys.stderr)
        return 2
    return result


def _parser() -> argparse.ArgumentParser:
    project = find(Path.cwd())
    parser = argparse.ArgumentParser(
        prog="llmtape", description="Record and replay LLM calls: the recordings."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, run: Any, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--dir", type=Path, default=project.directory, help="recordings directory")
        sub.set_defaults(run=run, project=project)
        return sub

    listing = command("list", _list, "one row per recording")
    listing.add_argument("--endpoint", help="only endpoints containing this")
    listing.add_argument("--model", help="only models containing this")
    listing.add_argument("--text", help="only recordings containing this text")
    listing.add_argument(
        "--cost", action="store_true", help="the tokens and dollars of each, and their total"
    )
    listing.add_argument(
        "--prices",
        type=Path,
        metavar="FILE",
        help="a price file laid over llmtape's own (implies --cost; default: the llmtape_prices ini)",
    )
    command("show", _show, "a recording as a conversation").add_argument("target", metavar="KEY_OR_PREFIX")
    diff = command("diff", _diff, "what differs between two recordings")
    diff.add_argument("a", metavar="A")
    diff.add_argument("b", metavar="B")
    explain = command("explain", _explain, "the key material and key of a recording or a request JSON")
    explain.add_argument("target", metavar="RECORDING_OR_REQUEST")
    explain.add_argument("--method", help="for a bare body: the HTTP method (POST)")
    explain.add_argument("--endpoint", help="for a bare body: the URL path")
    verify = command("verify", _verify, "check every recording; non-zero exit on any problem")
    verify.add_argument("--no-schema", dest="schema", action="store_false", help="skip the SDK schema check")
    prune = command("prune", _prune, "delete the recordings the last complete test run did not use")
    prune.add_argument("--yes", action="store_true", help="delete (without it: only list)")
    prune.add_argument(
        "--usage",
        type=Path,
        default=project.root / CACHE_FILE,
        help="the usage record: pytest's, or llmtape usage combine's (default: %(default)s)",
    )
    usage = commands.add_parser("usage", help="merge the usage records of shards of a split test suite")
    combining = usage.add_subparsers(required=True, metavar="ACTION").add_parser(
        "combine", help="merge shards' usage records (files or directories of them) for llmtape prune"
    )
    combining.add_argument("sources", nargs="+", type=Path, metavar="FILES", help="records, or directories")
    combining.add_argument(
        "--output", type=Path, help=f"where to write the union (default: {CACHE_FILE}, which prune reads)"
    )
    combining.set_defaults(run=_combine, project=project)
    rehash = command(
        "rehash", _rehash, "re-key every recording under the matching settings its own test uses now"
    )
    rehash.add_argument("--dry-run", action="store_true", help="only say what would change")
    importer = command("import", _import, "convert llama-stack recordings or vcrpy cassettes")
    importer.add_argument("--from", dest="source", choices=sorted(SOURCES), required=True)
    importer.add_argument("paths", nargs="+", metavar="SRC", type=Path, help="files or directories")
    importer.add_argument(
        "--scope", choices=("shared", "test"), default="shared", help="key rule to import with"
    )
    return parser


def _print(lines: list[str]) -> int:
    for line in lines:
        print(masked(line))  # whatever a recording holds, what is printed holds no credential
    return 0


def _list(args: argparse.Namespace) -> int:
    prices = Prices.load(args.prices or _project_prices(args.project)) if args.cost or args.prices else None
    return _print(list_rows(args.dir, args.endpoint, args.model, args.text, prices))


def _project_prices(project: Project) -> Path | None:
    """The price file the ``llmtape_prices`` ini names, relative to the rootdir, as pytest reads it."""
    configured = project.options.get("llmtape_prices")
    return project.root / str(configured) if configured else None


def _show(args: argparse.Namespace) -> int:
    return _print(show_lines(resolve(args.dir, args.target)))


def _diff(args: argparse.Namespace) -> int:
    return _print(diff_lines(resolve(args.dir, args.a), resolve(args.dir, args.b)))


def _explain(args: argparse.Namespace) -> int:
    target = Path(args.target) if Path(args.target).is_file() else resolve(args.dir, args.target)
    request, test_id = request_of(target, args.method, args.endpoint)
    return _print(explain_lines(request, args.project.matching(), test_id, args.dir))


def _prune(args: argparse.Namespace) -> int:
    return _print(prune_lines(args.dir, args.usage, args.yes, args.project.root.resolve()))


def _combine(args: argparse.Namespace) -> int:
    return _print(combine_lines(args.sources, args.output, args.project.root.resolve()))


def _rehash(args: argparse.Namespace) -> int:
    return _print(rehash_lines(args.dir, args.project.matching(), args.dry_run))


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


def _import(args: argparse.Namespace) -> int:
    files = _files(args.paths, SOURCES[args.source])
    return run_import(args.source, files, args.dir, per_test=args.scope == "test", root=args.project.root)


def _verify(args: argparse.Namespace) -> int:
    files = sorted(args.dir.glob("*.json"))
    matching = args.project.matching()
    found = [
        f"{path}: {line}" for path in files for line in problems(path, schema=args.schema, project=matching)
    ]
    found[:0] = leftover_lines(Store(args.dir))
    for line in found:
        print(masked(line))
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
