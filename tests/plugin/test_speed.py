"""The replay speed, chosen by --llmtape-speed, LLMTAPE_SPEED, the ini key or a test's marker, and a
recorded pace kept when the test replays it."""

from __future__ import annotations

import pytest

SPEED_TEST = """
import pytest


def test_default(llmtape):
    assert llmtape.speed == {default}


@pytest.mark.llmtape(speed=1)
def test_marked(llmtape):
    assert llmtape.speed == 1
"""


def _speed_in_environment(monkeypatch: pytest.MonkeyPatch, env: str | None) -> None:
    if env is None:
        monkeypatch.delenv("LLMTAPE_SPEED", raising=False)
    else:
        monkeypatch.setenv("LLMTAPE_SPEED", env)


@pytest.mark.parametrize(
    ("arguments", "env", "ini", "default"),
    [
        ([], None, None, 0),
        (["--llmtape-speed=4"], None, None, 4),
        ([], "2.5", None, 2.5),
        ([], None, "8", 8),
        (["--llmtape-speed=3"], "2", "8", 3),  # the command line wins over the environment and ini
        ([], "2", "8", 2),  # the environment over ini
    ],
    ids=["instant-by-default", "option", "environment", "ini", "option-first", "environment-before-ini"],
)
def test_where_the_speed_comes_from(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    env: str | None,
    ini: str | None,
    default: float,
) -> None:
    _speed_in_environment(monkeypatch, env)
    if ini is not None:
        pytester.makeini(f"[pytest]\nllmtape_speed = {ini}\n")
    pytester.makepyfile(SPEED_TEST.format(default=default))
    # A test's marker keeps the pace it asserts on, whatever the run says
    pytester.runpytest(*arguments).assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("arguments", "env", "marker", "message"),
    [
        (["--llmtape-speed=fast"], None, "", "*--llmtape-speed is 'fast'; use a number: 1 replays at the *"),
        (["--llmtape-speed=-1"], None, "", "*--llmtape-speed is '-1'; use a number*"),
        ([], "nan", "", "*the environment variable LLMTAPE_SPEED is 'nan'; use a number*"),
        ([], None, "speed='x'", "*the marker option speed is 'x'; use a number*(in the marker of *)"),
    ],
    ids=["word", "negative", "not-a-number", "marker"],
)
def test_a_speed_that_is_not_a_number_stops_the_run_with_the_fix(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    env: str | None,
    marker: str,
    message: str,
) -> None:
    _speed_in_environment(monkeypatch, env)
    decorator = f"@pytest.mark.llmtape({marker})\n" if marker else ""
    pytester.makepyfile(f"import pytest\n\n{decorator}def test_it():\n    pass\n")
    result = pytester.runpytest(*arguments)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
