"""The pytest surface: options, ini keys, the ``llmtape`` marker and fixture, the summary.

Each test's options are parsed once, at collection, into an :class:`Options` kept in the
item's stash; the test's own :class:`Tape` is active from the start of its function-scoped
fixtures to their end. Calls outside that window (session and module fixtures, collection)
go to the session's tape, with the session's settings.
"""

from __future__ import annotations

import os
import shlex
import time
from collections import Counter
from collections.abc import Generator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from llmtape import intercept_aiohttp, intercept_botocore
from llmtape.config import Endpoints, Mode, parse_speed, resolve_mode, resolve_speed
from llmtape.context import Options, Run, activated
from llmtape.errors import ConfigError, shown
from llmtape.ledger import Ledger, model_lines, summary_line
from llmtape.matching import Matching
from llmtape.prices import Prices
from llmtape.secrets import masked
from llmtape.tape import Call, Outcome, Tape, TapeView, ledger_of, report
from llmtape.usage import CACHE_KEY, NotRun, Progress, Usage, delete, listening, write

if TYPE_CHECKING:
    from llmtape.drift import Report

MATCHING_OPTIONS = frozenset({"ignore", "placeholders", "normalizer"})
MARKER_OPTIONS = (
    frozenset(
        {"enabled", "dir", "endpoints", "default_endpoints", "scope", "allow_secrets", "speed", "stable_ids"}
    )
    | MATCHING_OPTIONS
)
SCOPES = ("shared", "test")
LEDGERS = (Outcome.REPLAYED, Outcome.RECORDED)  # the calls whose tokens the summary counts
PLUGIN_NAME = "llmtape-session"
OPTIONS = pytest.StashKey[Options]()
TAPE = pytest.StashKey[Tape]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmtape", "record and replay LLM calls")
    group.addoption(
        "--record",
        action="store_true",
        dest="llmtape_record",
        help="llmtape: replay existing recordings, call the live API for missing ones and save them.",
    )
    group.addoption(
        "--llmtape-mode",
        dest="llmtape_mode",
        metavar="MODE",
        help="llmtape: replay (default), record, rewrite, live, or drift (replay, and compare each recording "
        "with the live API's answer). Overrides LLMTAPE_MODE and ini.",
    )
    group.addoption(
        "--llmtape-speed",
        dest="llmtape_speed",
        metavar="FACTOR",
        help="llmtape: replay at the recorded pace divided by FACTOR: 1 real time, 4 four times faster, "
        "0 instantly (default). Overrides LLMTAPE_SPEED and ini; a test's marker speed= overrides it.",
    )
    group.addoption(
        "--llmtape-drift-report",
        dest="llmtape_drift_report",
        metavar="FILE",
        help="llmtape: in drift mode, also write the drift report as JSON to FILE.",
    )
    group.addoption(
        "--llmtape-drift-strict",
        action="store_true",
        dest="llmtape_drift_strict",
        help="llmtape: in drift mode, fail the run on textual drift too, not only on structural drift.",
    )
    group.addoption(
        "--llmtape-prune",
        action="store_true",
        dest="llmtape_prune",
        help="llmtape: after a complete, passing run of the whole suite, delete unused recordings.",
    )
    group.addoption(
        "--llmtape-usage",
        dest="llmtape_usage",
        metavar="PATH",
        help="llmtape: also write this run's usage record here (a directory: a file named for this shard), "
        "for llmtape usage combine. Default: LLMTAPE_USAGE.",
    )
    group.addoption(
        "--llmtape-dir",
        dest="llmtape_dir",
        metavar="DIR",
        help="llmtape: recordings directory (default: recordings/ under the rootdir).",
    )
    parser.addini("llmtape_mode", "llmtape: default mode when neither option nor LLMTAPE_MODE is set.")
    parser.addini("llmtape_dir", "llmtape: recordings directory, relative to the rootdir.")
    parser.addini("llmtape_speed", "llmtape: replay speed when neither option nor LLMTAPE_SPEED is set.")
    parser.addini(
        "llmtape_drift_threshold",
        "llmtape: in drift mode, the similarity (0 to 1) of a live answer's text to the recorded one below "
        "which it counts as textual drift (default 0.9).",
        default="0.9",
    )
    parser.addini(
        "llmtape_prices",
        "llmtape: a JSON price table of this project's own (relative to the rootdir), laid over the shipped "
        "one, for the token and cost figures.",
    )
    parser.addini(
        "llmtape_timing",
        "llmtape: record when an answer and each of its chunks arrived (true, default) or not (false).",
        type="bool",
        default=True,
    )
    parser.addini(
        "llmtape_stable_ids",
        "llmtape: give recorded answers ids and times derived from their key (true, default), or keep "
        "the provider's own (false).",
        type="bool",
        default=True,
    )
    parser.addini(
        "llmtape_autouse",
        "llmtape: intercept every test (true, default) or only tests marked llmtape (false).",
        type="bool",
        default=True,
    )
    parser.addini(
        "llmtape_scope",
        "llmtape: 'shared' (default): one recording per request; 'test': the test id is part of the key.",
        default="shared",
    )
    parser.addini(
        "llmtape_ignore",
        "llmtape: JSON paths left out of the key, like body.user or body.metadata.trace_id.",
        type="linelist",
    )
    parser.addini(
        "llmtape_placeholders",
        "llmtape: 'REGEX => REPLACEMENT' lines applied to the body's text before keying.",
        type="linelist",
    )
    parser.addini("llmtape_normalizer", "llmtape: 'module:function' called on the body before keying.")
    parser.addini(
        "llmtape_endpoints",
        "llmtape: 'METHOD GLOB' lines of more requests to intercept, besides the LLM APIs' defaults.",
        type="linelist",
    )
    parser.addini(
        "llmtape_default_endpoints",
        "llmtape: false to intercept only llmtape_endpoints, not the LLM APIs' default endpoints.",
        type="bool",
        default=True,
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # Before any conftest runs, so that an aiohttp session or a boto3 client a conftest makes at import is
    # intercepted too.
    if intercept_aiohttp.available():
        intercept_aiohttp.install()
    intercept_botocore.install()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "llmtape(enabled=True, dir=None, endpoints=(), default_endpoints=True, scope=None, "
        "allow_secrets=False, ignore=(), placeholders=None, normalizer=None, speed=None, stable_ids=None): "
        "per-test llmtape "
        "options: intercept or not, another recordings directory, more endpoint patterns, with or without "
        "the default ones, 'shared' or 'test' keys, let credential-shaped "
        "values be recorded, more JSON paths to ignore, {regex: replacement}, a body hook, the replay speed, "
        "stable ids or the provider's own.",
    )
    try:
        plugin = LlmtapePlugin(config)
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None
    config.pluginmanager.register(plugin, PLUGIN_NAME)


class LlmtapePlugin:
    """The run's settings, its session tape, and the tally of every test's calls."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.mode = resolve_mode(
            option=config.getoption("llmtape_mode"),
            record_flag=config.getoption("llmtape_record"),
            env=os.environ,
            ini=config.getini("llmtape_mode") or None,
        )
        self.directory = self._directory()
        self.speed = resolve_speed(
            option=config.getoption("llmtape_speed"),
            env=os.environ,
            ini=config.getini("llmtape_speed") or None,
        )
        self.timing: bool = config.getini("llmtape_timing")
        self.drift_threshold = _threshold(config.getini("llmtape_drift_threshold"))
        self.drift_unwritten = ""  # why the drift report file could not be written, if it could not
        prices = config.getini("llmtape_prices")
        self.prices = Prices.load(config.rootpath / prices if prices else None)
        self.stable_ids: bool = config.getini("llmtape_stable_ids")
        self.autouse: bool = config.getini("llmtape_autouse")
        self.endpoints = Endpoints(
            config.getini("llmtape_endpoints"), defaults=config.getini("llmtape_default_endpoints")
        )
        self.scope = _scope(config.getini("llmtape_scope"), "the ini option llmtape_scope")
        self.matching = Matching.configured(
            config.getini("llmtape_ignore"),
            config.getini("llmtape_placeholders"),
            config.getini("llmtape_normalizer") or None,
        )
        workerinput = getattr(config, "workerinput", None)
        # Under xdist, the whole run's id, for rewrite mode's "recorded by this run".
        self.run = Run(workerinput.get("llmtape_run") if workerinput else None)
        self.session_tape = Tape(self._defaults(), self.run)
        self.totals: Counter[Outcome] = Counter()
        self.ledgers = {outcome: Ledger() for outcome in LEDGERS}  # the tokens replayed and recorded
        self.escapes: list[str] = []  # "test: message" of each call that left unintercepted (record modes)
        self.usage = Usage(started=time.time())  # a recording modified since is never judged unused
        self.progress = Progress()
        self._reaches: dict[tuple[Path, bool], frozenset[Path]] = {}
        self._active = ExitStack()
        self._reported: dict[int, int] = {}  # tape id -> how many of its problems have failed a test

    def _directory(self) -> Path:
        option = self.config.getoption("llmtape_dir")
        if option:
            return Path(self.config.invocation_params.dir, option)
        return self.config.rootpath / (self.config.getini("llmtape_dir") or "recordings")

    def _defaults(self) -> Options:
        """The options of calls outside any test: the session's settings."""
        return Options(
            mode=self.mode,
            directory=self.directory,
            endpoints=self.endpoints,
            enabled=self.autouse,
            matching=self.matching,
            speed=self.speed,
            timing=self.timing,
            stable_ids=self.stable_ids,
            prices=self.prices,
            record_fix=self._command(None, "--record"),
            rewrite_fix=self._command(None, "--llmtape-mode=rewrite"),
        )

    def options(self, item: pytest.Item) -> Options:
        """One test's options, from the configuration and its marker."""
        marker = _marker_options(item)
        marked = item.get_closest_marker("llmtape") is not None
        wanted = self.autouse or marked or "llmtape" in getattr(item, "fixturenames", ())
        per_test = _scope(marker.get("scope", self.scope), "the marker option scope") == "test"
        directory = marker.get("dir")
        return Options(
            mode=self.mode,
            directory=self.config.rootpath / directory if directory else self.directory,
            endpoints=_endpoints(self.endpoints, marker),
            enabled=bool(marker.get("enabled", wanted)),
            test_id=item.nodeid if per_test else None,
            nodeid=item.nodeid,
            allow_secrets=bool(marker.get("allow_secrets", False)),
            matching=_matching(self.matching, marker),
            speed=_speed(self.speed, marker),
            timing=self.timing,
            stable_ids=bool(marker.get("stable_ids", self.stable_ids)),
            prices=self.prices,
            record_fix=self._command(item.nodeid, "--record"),
            rewrite_fix=self._command(item.nodeid, "--llmtape-mode=rewrite"),
        )

    def _command(self, nodeid: str | None, mode_option: str) -> str:
        command = ["pytest", mode_option]
        if self.config.getoption("llmtape_dir"):
            command += ["--llmtape-dir", self.config.getoption("llmtape_dir")]
        return shlex.join([*command, *([nodeid] if nodeid else [])])

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self) -> None:
        self._active.enter_context(activated(self.session_tape))
        self._blocks_used = self._active.enter_context(listening())  # what llmtape.tape blocks use

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # Marker mistakes stop the run before any test starts, like other usage errors.
        for item in items:
            try:
                item.stash[OPTIONS] = self.options(item)
            except ConfigError as error:
                raise pytest.UsageError(f"{error} (in the marker of {item.nodeid})") from None

    def test_tape(self, item: pytest.Item) -> Tape:
        """The tape of ``item``, made when its first function-scoped fixture is set up."""
        if TAPE not in item.stash:
            options = item.stash[OPTIONS] if OPTIONS in item.stash else self.options(item)
            item.stash[TAPE] = Tape(options, self.run)
        return item.stash[TAPE]

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        for item in items:
            self.usage.left_out(item.nodeid, NotRun("deselected", self._reach(item)))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed or report.skipped:  # its tests are unknown: any recording may be theirs
            self.usage.gaps[report.nodeid] = report.outcome

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.progress.expected |= {item.nodeid: self._reach(item) for item in session.items}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.progress.report(report.nodeid, report.when, report.outcome, hasattr(report, "wasxfail"))

    def _reach(self, item: pytest.Item) -> frozenset[Path]:
        """The directories whose shared recordings ``item`` could use: its own, and the session's
        (where the calls of its session, module and class fixtures go)."""
        try:
            options = item.stash[OPTIONS] if OPTIONS in item.stash else self.options(item)
        except (ConfigError, pytest.UsageError):
            options = self._defaults()
        key = (options.directory, options.enabled)
        if key not in self._reaches:
            own = {options.directory} if options.enabled else set()
            self._reaches[key] = frozenset(
                d.resolve() for d in own | ({self.directory} if self.autouse else set())
            )
        return self._reaches[key]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        try:
            return (yield)
        finally:
            if TAPE in item.stash:  # the tape's calls are counted, and let go of
                finished = item.stash[TAPE]
                self._tally(finished.calls, item.nodeid)
                self._reported.pop(id(finished), None)
                del item.stash[TAPE]

    def _tally(self, calls: list[Call], where: str) -> None:
        self.totals.update(call.outcome for call in calls)
        for outcome, ledger in self.ledgers.items():
            ledger.merge(ledger_of(calls, outcome))
        self.escapes += [f"{where}: {c.error}" for c in calls if c.outcome is Outcome.ESCAPED]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, object, object]:
        return self._checked(item, (yield))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        try:
            result = yield
        except BaseException as error:
            self._fail_on_problems(item, error)
            raise
        return self._checked(item, result)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, object, object]:
        return self._checked(item, (yield))

    def _checked(self, item: pytest.Item, result: object) -> object:
        self._fail_on_problems(item, None)
        return result

    def _fail_on_problems(self, item: pytest.Item, cause: BaseException | None) -> None:
        """Fail the test phase in which calls missed or failed (session fixtures' calls included)."""
        __tracebackhide__ = True
        tapes = [self.session_tape, *([item.stash[TAPE]] if TAPE in item.stash else [])]
        problems = [call for tape in tapes for call in self._unreported(tape)]
        if not problems:
            return
        message = report(problems)
        if cause is not None and (problems[0].error or "") not in str(cause):
            message += masked(f"\n\nThe test also raised {type(cause).__name__}: {cause}")
        raise pytest.fail.Exception(message, pytrace=False) from None

    def _unreported(self, tape: Tape) -> list[Call]:
        problems = tape.problems()
        start, self._reported[id(tape)] = self._reported.get(id(tape), 0), len(problems)
        return problems[start:]

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.session_tape.finish()
        self._active.close()
        self.run.tidy()
        if not hasattr(self.config, "workerinput"):  # the run ends with its controller, not with a worker
            self.run.forget()
        self._tally(self.session_tape.calls, "outside any test")
        self.usage.note(self.run.used | self._blocks_used, self.run.directories)
        drift = self.run.drift.finish() if self.mode is Mode.DRIFT else None
        self.usage.finish(self.progress)
        root = self.config.rootpath.resolve()
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:  # an xdist worker reports to the controller
            counts = {str(outcome): count for outcome, count in self.totals.items()}
            workeroutput["llmtape"] = {
                "counts": counts,
                "ledgers": {str(outcome): ledger.to_json() for outcome, ledger in self.ledgers.items()},
                "escapes": self.escapes,
                "usage": self.usage.to_json(root),
                "drift": drift.to_json() if drift is not None else None,
            }
            return
        if drift is not None:
            self._drifted(session, drift)
        self.usage.narrowed += self._narrowed()
        self.usage.passed = exitstatus == 0
        record = self.usage.to_json(root)
        cache = getattr(self.config, "cache", None)  # absent with -p no:cacheprovider
        if cache is not None:
            cache.set(CACHE_KEY, record)
        target = self.config.getoption("llmtape_usage") or os.environ.get("LLMTAPE_USAGE")
        if target:
            write(os.path.join(self.config.invocation_params.dir, target), record)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["llmtape_run"] = self.run.id

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        report = getattr(node, "workeroutput", {}).get("llmtape", {})
        self.totals.update({Outcome(outcome): count for outcome, count in report.get("counts", {}).items()})
        self.escapes += report.get("escapes", [])
        for outcome, ledger in report.get("ledgers", {}).items():
            self.ledgers[Outcome(outcome)].merge(Ledger.from_json(ledger))
        if "usage" in report:
            self.usage.merge(Usage.from_json(report["usage"], self.config.rootpath.resolve()))
        if report.get("drift"):
            self.run.drift.report.merge_json(report["drift"])

    def _drifted(self, session: pytest.Session, report: Report) -> None:
        """Drift mode, at the end of the whole run: write the report, fail the run on drift."""
        target = self.config.getoption("llmtape_drift_report")
        if target:
            path = Path(self.config.invocation_params.dir, target)
            try:
                report.write(path, self.drift_threshold)
            except OSError as error:  # the comparisons are still printed, and still fail the run
                self.drift_unwritten = (
                    f"llmtape drift: the report could not be written to {shown(path)}: {error}"
                )
        strict = self.config.getoption("llmtape_drift_strict")
        drifted = report.structural() or (strict and report.textual(self.drift_threshold))
        if drifted and session.exitstatus == pytest.ExitCode.OK:  # an interrupted run stays interrupted
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _narrowed(self) -> list[str]:
        """Why this run's collection was narrower than the whole suite, if it was."""
        reasons = [] if self._whole_suite_named() else [self._narrower()]
        roots = self._suite_roots()
        invoked = self.config.invocation_params.dir
        ignored = [Path(invoked, path).resolve() for path in _option(self.config, "ignore") or ()]
        if _option(self.config, "ignore_glob") or any(_overlap(path, roots) for path in ignored):
            reasons.append("tests were excluded with --ignore")
        if _option(self.config, "lf"):
            reasons.append("--lf ran only the tests that failed last time")
        return reasons

    def _suite_roots(self) -> list[Path]:
        """Where the whole suite is collected from: the ``testpaths``, else the rootdir."""
        root = self.config.rootpath.resolve()
        found = [Path(p).resolve() for t in self.config.getini("testpaths") for p in root.glob(t)]
        return found or [root]

    def _whole_suite_named(self) -> bool:
        if self.config.args_source == pytest.Config.ArgsSource.TESTPATHS:
            return True
        named = [
            Path(self.config.invocation_params.dir, arg).resolve()
            for arg in self.config.args
            if "::" not in arg
        ]
        return all(
            any(path == root or path in root.parents for path in named) for root in self._suite_roots()
        )

    def _narrower(self) -> str:
        started, root = self.config.invocation_params.dir.resolve(), self.config.rootpath.resolve()
        if self.config.args_source != pytest.Config.ArgsSource.INVOCATION_DIR:
            return "tests were selected on the command line"
        if root in started.parents:
            where = started.relative_to(root).as_posix()
            return f"pytest started in {where}, below the rootdir, and did not collect the tests elsewhere"
        return f"pytest started in {started}, which does not hold the whole suite"

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        self._counts_summary(terminalreporter)
        if not hasattr(self.config, "workeroutput"):
            self._unused_summary(terminalreporter)
            if self.mode is Mode.DRIFT:
                verbose = self.config.get_verbosity() > 0
                for line in self.run.drift.report.lines(self.drift_threshold, verbose):
                    terminalreporter.write_line(line)
                if self.drift_unwritten:
                    terminalreporter.write_line(self.drift_unwritten)

    def _unused_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """The unused recordings, or why they cannot be told; pruning is suggested only when they can."""
        write_line, prune = terminalreporter.write_line, self.config.getoption("llmtape_prune")
        verdict = self.usage.verdict()
        if prune and not self.usage.passed:
            write_line("llmtape: --llmtape-prune deleted nothing: the run did not pass")
            return
        files = f" and {len(verdict.files)} files only they name" if verdict.files else ""
        if prune and (verdict.unused or verdict.files or not verdict.undecided):
            line = f"llmtape: pruned {delete(verdict.unused)} unused recordings"
            if verdict.files:
                line += f" and {delete(verdict.files)} files only they named"
            write_line(line)
        elif verdict.unused or verdict.files:
            write_line(f"llmtape: {len(verdict.unused)} unused recordings{files}:")
            listed = [*verdict.unused, *verdict.files]
            for path in listed[:10]:
                write_line(f"  {shown(path)}")
            if len(listed) > 10:
                write_line(f"  ... and {len(listed) - 10} more")
            write_line("llmtape: delete them with pytest --llmtape-prune, or llmtape prune")
        if verdict.newer:
            write_line(f"llmtape: kept {len(verdict.newer)} unused recordings modified since the run started")
        if verdict.undecided and (prune or verdict.unused or self.usage.used):  # quiet when it used none
            reasons, count = "; ".join(verdict.reasons), len(verdict.undecided)
            if verdict.unused:
                write_line(f"llmtape: cannot tell whether {count} other recordings are unused: {reasons}")
            else:
                write_line(f"llmtape: cannot tell which recordings are unused: {reasons}")

    def _counts_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        counts = self.totals
        parts = [f"{counts[Outcome.REPLAYED]} replayed", f"{counts[Outcome.RECORDED]} recorded"]
        parts.append(f"{counts[Outcome.MISSING]} missing")
        parts += [f"{counts[o]} {o}" for o in (Outcome.LIVE, Outcome.FAILED, Outcome.ESCAPED) if counts[o]]
        terminalreporter.write_line(f"llmtape: {', '.join(parts)}")
        for outcome, ledger in self.ledgers.items():
            line = summary_line(str(outcome), ledger, self.prices)
            if line is not None:
                terminalreporter.write_line(line)
                if self.config.get_verbosity() > 0:
                    for model in model_lines(ledger, self.prices):
                        terminalreporter.write_line(model)
        if self.escapes and self.mode is not Mode.REPLAY:
            terminalreporter.write_line(
                f"llmtape: {len(self.escapes)} calls to hosted LLM APIs were not intercepted, nor recorded:"
            )
            for line in self.escapes[:10]:
                terminalreporter.write_line(f"  {line}")
            if len(self.escapes) > 10:
                terminalreporter.write_line(f"  ... and {len(self.escapes) - 10} more")
        if counts[Outcome.MISSING]:
            terminalreporter.write_line(
                "llmtape: run the failing tests again with --record to record the missing calls"
            )


def _option(config: pytest.Config, name: str) -> Any:
    return config.getoption(name, None)  # None when the plugin that adds it is not loaded


def _overlap(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path in root.parents or root in path.parents for root in roots)


def _matching(project: Matching, options: dict[str, Any]) -> Matching:
    if not MATCHING_OPTIONS & set(options):
        return project
    return project.extended(options.get("ignore", ()), options.get("placeholders"), options.get("normalizer"))


def _endpoints(project: Endpoints, options: dict[str, Any]) -> Endpoints:
    if "endpoints" not in options and "default_endpoints" not in options:
        return project
    defaults = options.get("default_endpoints")
    return project.extended(
        options.get("endpoints", ()), defaults=None if defaults is None else bool(defaults)
    )


def _threshold(value: str) -> float:
    try:
        threshold = float(value)
    except ValueError:
        threshold = -1.0
    if not 0 <= threshold <= 1:
        raise ConfigError(
            f"llmtape: the ini option llmtape_drift_threshold is {value!r}; use a similarity from 0 to 1, "
            "like 0.9"
        )
    return threshold


def _speed(project: float, options: dict[str, Any]) -> float:
    """A marker's ``speed=`` wins over the run's: the test asserting on timing knows the pace it needs."""
    if options.get("speed") is None:
        return project
    return parse_speed(options["speed"], source="the marker option speed")


def _scope(value: str, source: str) -> str:
    if value not in SCOPES:
        raise ConfigError(f"llmtape: {source} is {value!r}; use 'shared' or 'test'")
    return value


def _marker_options(item: pytest.Item) -> dict[str, Any]:
    marker = item.get_closest_marker("llmtape")
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError(f"llmtape: {item.nodeid}: the llmtape marker takes keyword arguments only")
    unknown = set(marker.kwargs) - MARKER_OPTIONS
    if unknown:
        raise pytest.UsageError(
            f"llmtape: {item.nodeid}: unknown llmtape marker option(s) {sorted(unknown)}; "
            f"use {sorted(MARKER_OPTIONS)}"
        )
    return dict(marker.kwargs)


def _plugin(config: pytest.Config) -> LlmtapePlugin:
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    assert isinstance(plugin, LlmtapePlugin)
    return plugin


@pytest.fixture(autouse=True)
def _llmtape_test(request: pytest.FixtureRequest) -> Iterator[Tape]:
    """llmtape: this test's tape answers its calls from here until its function-scoped fixtures end."""
    current = _plugin(request.config).test_tape(request.node)
    with activated(current):
        try:
            yield current
        finally:
            current.finish()


@pytest.fixture
def llmtape(_llmtape_test: Tape) -> TapeView:
    """The llmtape tape of this test: its ``calls`` (key, outcome...), ``counts()`` and ``mode``."""
    return _llmtape_test.view
